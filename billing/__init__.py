"""Credits: provider rates, the ledger (the one way credits move) and the per-call meter.

May import ``models`` only; the API, the telephony node and the scheduler use it.
"""
