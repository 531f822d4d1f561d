"""Signalling and RTP for Trunkline: trunks, calls, DTMF and transfers over baresip-python.

Nothing here knows Trunkline's tables: the composition root hands the engine trunk settings and an
inbound router, and gets calls back.
"""
