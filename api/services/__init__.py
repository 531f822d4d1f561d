"""Business logic of the API resources; controllers stay thin and call these."""
