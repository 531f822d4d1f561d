"""The scheduler loop of one node: event-driven claims of due attempts, dials through a Dialer, durable state.

Every decision lives in the database, so a node can die at any moment: on start it closes the attempts it
was dialling as errors (retried by the policy). Nodes sharing PostgreSQL lock a campaign's row with
``FOR UPDATE SKIP LOCKED`` while they load, claim and count, so concurrency holds across nodes and no attempt
is claimed twice; SQLite (one node) serialises writers anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import (
    AttemptStatus,
    Call,
    CallStatus,
    Campaign,
    CampaignAttempt,
    CampaignStatus,
    Contact,
    PhoneNumber,
    PhoneNumberStatus,
    Trunk,
)
from scheduler.attempts import close_attempt, load_audience, window_of
from scheduler.credits import CreditCheck, has_credit
from scheduler.dialing import Dialer, DialRequest, DialResult
from scheduler.states import InvalidTransition, announce, change_status
from scheduler.windows import Clock, contact_timezone, utc_now

log = structlog.get_logger("trunkline.scheduler")

POLL_S = 2.0  # longest sleep: picks up work launched through another node, and clock-driven changes
FIRST_CHUNK = 100  # contacts loaded before the first claim, so a 100k audience still dials within a second
CHUNK = 500  # rows built per pass: small enough that the event loop (and live calls' audio) never stalls long
CLAIM_BATCHES = 10  # due rows examined per campaign per tick: at most this many batches (window pushes)
# A dialling attempt older than the longest call (assistant max 4 h) plus ringing belongs to a node that is gone.
STALE_DIALING = timedelta(hours=4, minutes=10)
STOP_GRACE_S = 2.0


class Scheduler:
    """Runs every scheduled and running campaign of the database from this node."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dialer: Dialer,
        *,
        node_id: str,
        clock: Clock = utc_now,
        may_dial: CreditCheck = has_credit,
        local_hours: bool = True,
        poll_s: float = POLL_S,
    ) -> None:
        self._sessions = sessions
        self._dialer = dialer
        self.node_id = node_id
        self._clock = clock
        self._may_dial = may_dial
        self._local_hours = local_hours
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._dials: set[asyncio.Task[None]] = set()
        self._launching = 0  # claimed here, dial task not yet inside the dialer
        self.ticks = 0

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Close what a previous run of this node left dialling, then start the loop."""
        closed = await self.recover()
        if closed:
            log.info("closed in-flight attempts of a previous run as errors", count=closed, node=self.node_id)
        self._loop = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop claiming; calls still running past a short grace are recovered on the next start."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._dials:
            _, pending = await asyncio.wait(list(self._dials), timeout=STOP_GRACE_S)
            for task in pending:
                task.cancel()

    def wake(self) -> None:
        """Look for work now (a launch, a resume, an ended call)."""
        self._wake.set()

    async def settle(self, limit_s: float = 30.0) -> None:
        """Wait until the calls in flight have ended and been recorded (tests, benchmarks)."""
        if self._dials:
            await asyncio.wait(list(self._dials), timeout=limit_s)

    @property
    def dialling(self) -> int:
        """Calls this node's scheduler has in flight."""
        return len(self._dials)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self.tick()
            except Exception:
                log.exception("scheduler tick failed")
                delay = self._poll_s
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    # --- one pass --------------------------------------------------------------------------------

    async def tick(self) -> float:
        """Advance every live campaign once; returns how long the loop may sleep."""
        self.ticks += 1
        now = self._clock()
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(Campaign.id).where(
                        Campaign.status.in_((CampaignStatus.SCHEDULED, CampaignStatus.RUNNING)),
                        Campaign.deleted_at.is_(None),
                    )
                )
            )
        delay = self._poll_s
        for campaign_id in ids:
            delay = min(delay, await self._advance(campaign_id, now))
        return max(delay, 0.0)

    async def _advance(self, campaign_id: UUID, now: datetime) -> float:
        changes: list[dict[str, Any]] = []
        async with self._sessions() as session, session.begin():
            delay, claimed = await self._advance_locked(session, campaign_id, now, changes)
        announce(changes)
        self._launching += len(claimed)
        for request in claimed:
            self._launch(request)
        return delay

    async def _advance_locked(
        self, session: AsyncSession, campaign_id: UUID, now: datetime, changes: list[dict[str, Any]]
    ) -> tuple[float, list[DialRequest]]:
        """One campaign's step under its row lock: start it, load audience, claim, complete."""
        delay = self._poll_s
        campaign = await session.scalar(
            select(Campaign).where(Campaign.id == campaign_id).with_for_update(skip_locked=True)
        )
        if campaign is None or campaign.deleted_at is not None:
            return delay, []  # another node holds it this instant, or it is gone
        if campaign.status is CampaignStatus.SCHEDULED:
            if campaign.scheduled_at is not None and campaign.scheduled_at > now:
                return min(delay, (campaign.scheduled_at - now).total_seconds()), []
            changes.append(await change_status(session, campaign, CampaignStatus.RUNNING, now))
        if campaign.status is not CampaignStatus.RUNNING:
            return delay, []
        more_audience = False
        if not campaign.audience_loaded:
            limit = FIRST_CHUNK if campaign.audience_cursor is None else CHUNK
            await load_audience(session, campaign, now, limit, self._local_hours)
            more_audience = not campaign.audience_loaded
        dialing = await self._count(session, campaign.id, AttemptStatus.DIALING)
        free = min(campaign.max_concurrent_calls - dialing, self._dialer.free_slots() - self._launching)
        claimed: list[DialRequest] = []
        if free > 0 and await self._has_due(session, campaign.id, now):
            if not await self._may_dial(session, campaign.account_id):
                changes.append(await self._pause(session, campaign, now, "the account's credit balance is zero"))
                return delay, []
            found = await self._claim(session, campaign, now, free)
            if found is None:
                changes.append(await self._pause(session, campaign, now, "no active caller number"))
                return delay, []
            claimed = found
        if (
            campaign.audience_loaded
            and dialing == 0
            and not claimed
            and await self._count(session, campaign.id, AttemptStatus.PENDING) == 0
        ):
            changes.append(await change_status(session, campaign, CampaignStatus.COMPLETED, now))
        elif more_audience or (claimed and len(claimed) == free):
            delay = 0.0
        elif free > len(claimed):
            due = await session.scalar(
                select(func.min(CampaignAttempt.due_at)).where(
                    CampaignAttempt.campaign_id == campaign.id, CampaignAttempt.status == AttemptStatus.PENDING
                )
            )
            if due is not None:
                delay = min(delay, max((due - now).total_seconds(), 0.05))
        return delay, claimed

    async def _pause(self, session: AsyncSession, campaign: Campaign, now: datetime, reason: str) -> dict[str, Any]:
        return await change_status(session, campaign, CampaignStatus.PAUSED, now, reason)

    @staticmethod
    async def _count(session: AsyncSession, campaign_id: UUID, status: AttemptStatus) -> int:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(CampaignAttempt)
                .where(CampaignAttempt.campaign_id == campaign_id, CampaignAttempt.status == status)
            )
            or 0
        )

    @staticmethod
    async def _has_due(session: AsyncSession, campaign_id: UUID, now: datetime) -> bool:
        return bool(
            await session.scalar(
                select(
                    exists().where(
                        CampaignAttempt.campaign_id == campaign_id,
                        CampaignAttempt.status == AttemptStatus.PENDING,
                        CampaignAttempt.due_at <= now,
                    )
                )
            )
        )

    async def _caller_numbers(self, session: AsyncSession, campaign: Campaign) -> dict[str, PhoneNumber]:
        """The campaign's numbers that may present caller ID now: active, on an enabled trunk."""
        ids = [UUID(str(i)) for i in campaign.caller_number_ids]
        rows = await session.scalars(
            select(PhoneNumber)
            .join(Trunk, Trunk.id == PhoneNumber.trunk_id)
            .where(
                PhoneNumber.id.in_(ids),
                PhoneNumber.account_id == campaign.account_id,
                PhoneNumber.status == PhoneNumberStatus.ACTIVE,
                Trunk.enabled.is_(True),
            )
        )
        return {str(n.id): n for n in rows}

    @staticmethod
    def _next_number(campaign: Campaign, active: dict[str, PhoneNumber]) -> PhoneNumber:
        """Round robin over the campaign's numbers in their order, skipping inactive ones."""
        order = [str(i) for i in campaign.caller_number_ids]
        for step in range(len(order)):
            index = (campaign.caller_cursor + step) % len(order)
            if order[index] in active:
                campaign.caller_cursor = index + 1
                return active[order[index]]
        raise LookupError("no active caller number")

    async def _claim(
        self, session: AsyncSession, campaign: Campaign, now: datetime, free: int
    ) -> list[DialRequest] | None:
        """Mark up to ``free`` due, callable attempts as dialling by this node; None when no number can call."""
        numbers = await self._caller_numbers(session, campaign)
        if not numbers:
            return None
        window = window_of(campaign, self._local_hours)
        claimed: list[DialRequest] = []
        for _ in range(CLAIM_BATCHES):
            rows = (
                await session.execute(
                    select(CampaignAttempt, Contact)
                    .join(Contact, Contact.id == CampaignAttempt.contact_id)
                    .where(
                        CampaignAttempt.campaign_id == campaign.id,
                        CampaignAttempt.status == AttemptStatus.PENDING,
                        CampaignAttempt.due_at <= now,
                    )
                    .order_by(CampaignAttempt.due_at)
                    .limit(max(free - len(claimed), 1) * 4)
                    .with_for_update(skip_locked=True, of=CampaignAttempt)
                )
            ).all()
            for attempt, contact in rows:
                if len(claimed) >= free:
                    break
                # DNC is checked again here: a contact may have opted out since the attempt was queued.
                if contact.do_not_call or not contact.phone:
                    attempt.status, attempt.ended_at = AttemptStatus.CANCELLED, now
                    continue
                zone = contact_timezone(contact.timezone, contact.phone, campaign.window_timezone)
                if not window.allows(now, zone):
                    opens = window.next_open(now, zone)
                    if opens is None:
                        attempt.status, attempt.ended_at = AttemptStatus.CANCELLED, now
                    else:
                        attempt.due_at = opens
                    continue
                number = self._next_number(campaign, numbers)
                attempt.status = AttemptStatus.DIALING
                attempt.claimed_by = self.node_id
                attempt.started_at = now
                attempt.caller_id = number.number
                claimed.append(
                    DialRequest(
                        account_id=campaign.account_id,
                        campaign_id=campaign.id,
                        attempt_id=attempt.id,
                        assistant_id=campaign.assistant_id,
                        contact_id=contact.id,
                        company_id=contact.company_id,
                        phone_number_id=number.id,
                        trunk_id=number.trunk_id,
                        caller_id=number.number,
                        destination=contact.phone,
                        voicemail_message=campaign.voicemail_message,
                    )
                )
            if len(claimed) >= free or len(rows) == 0:
                break
        return claimed

    # --- dialling --------------------------------------------------------------------------------

    def _launch(self, request: DialRequest) -> None:
        task = asyncio.create_task(self._dial(request))
        self._dials.add(task)
        task.add_done_callback(self._dials.discard)

    async def _dial(self, request: DialRequest) -> None:
        self._launching -= 1

        async def linked(call_id: UUID) -> None:
            """Link the attempt to its call row at once, so a crash mid-call can still close that row."""
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(CampaignAttempt).where(CampaignAttempt.id == request.attempt_id).values(call_id=call_id)
                )

        try:
            result = await self._dialer.dial(request, linked)
        except asyncio.CancelledError:
            raise  # the node is stopping: the attempt stays dialling and is recovered on the next start
        except Exception as exc:
            log.warning("campaign dial failed", attempt_id=str(request.attempt_id), error=str(exc))
            result = DialResult(outcome=CallStatus.ERROR)
        await self._finish(request.attempt_id, result)
        self.wake()

    async def _finish(self, attempt_id: UUID, result: DialResult) -> None:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            attempt = await session.scalar(
                select(CampaignAttempt).where(CampaignAttempt.id == attempt_id).with_for_update()
            )
            if attempt is None or attempt.status is not AttemptStatus.DIALING:
                return  # closed meanwhile (a restart's recovery on another node, a deleted campaign)
            await close_attempt(
                session,
                attempt,
                now,
                result.outcome,
                sip_code=result.sip_code,
                duration_s=result.duration_s,
                call_id=result.call_id,
                local_hours=self._local_hours,
            )

    # --- recovery --------------------------------------------------------------------------------

    async def recover(self) -> int:
        """Close attempts this node was dialling when it died (and long-stale ones of any node) as errors."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            attempts = list(
                await session.scalars(
                    select(CampaignAttempt)
                    .where(
                        CampaignAttempt.status == AttemptStatus.DIALING,
                        or_(
                            CampaignAttempt.claimed_by == self.node_id,
                            CampaignAttempt.started_at < now - STALE_DIALING,
                        ),
                    )
                    .with_for_update(skip_locked=True)
                )
            )
            for attempt in attempts:
                if attempt.call_id is not None:
                    await session.execute(
                        update(Call)
                        .where(Call.id == attempt.call_id, Call.ended_at.is_(None))
                        .values(status=CallStatus.ERROR, ended_at=now, hangup_by="system")
                    )
                await close_attempt(session, attempt, now, CallStatus.ERROR, local_hours=self._local_hours)
        return len(attempts)


__all__ = ["InvalidTransition", "Scheduler"]
