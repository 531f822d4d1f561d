"""Credits: provider rates, the ledger (the one way credits move) and the per-call meter.

Imports ``models`` only: the API's services and the telephony node use it; the scheduler reads the cached balance
it keeps on the account row.
"""
