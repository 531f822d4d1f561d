"""Real SIP test peers on 127.0.0.1 (sipp scenarios, a kamailio registrar, RFC 4475 torture messages)."""
