"""Request and response bodies (DTOs) of the API, as msgspec structs."""
