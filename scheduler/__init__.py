"""The campaign scheduler: attempts in the database, call windows, retries, pacing; dials through a Dialer.

It imports ``models`` and its own dial interface only, so a campaign never needs the web layer to run.
"""

from scheduler.dialing import Dialer, DialRequest, DialResult
from scheduler.engine import Scheduler
from scheduler.windows import CallWindow

__all__ = ["CallWindow", "DialRequest", "DialResult", "Dialer", "Scheduler"]
