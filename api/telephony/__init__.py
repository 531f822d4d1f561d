"""The node's telephony: joins the SIP engine, call audio and call records to the tables (no web layer)."""
