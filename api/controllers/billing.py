"""``/api/billing``: credits balance and estimates, the ledger, packages, admin top-ups and auto-reload."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, post, put

from api.auth import SCOPE_OPT
from api.pagination import Page, PageParams
from api.schemas.billing import (
    AutoReloadIn,
    AutoReloadOut,
    CreditsOut,
    LedgerEntryOut,
    PackageOut,
    TopUpIn,
    TopUpOut,
)
from api.schemas.common import to_out
from api.services.billing import BillingService
from models import ApiKeyScope, LedgerEntryKind

ADMIN = {SCOPE_OPT: ApiKeyScope.ADMIN}


class BillingController(Controller):
    """Credits of the caller's account; adding credits and changing auto-reload need an admin key."""

    path = "/api/billing"
    tags = ["billing"]

    @get("/credits")
    async def credits(self, billing_service: BillingService) -> CreditsOut:
        """The balance, credits held by calls in progress, and each assistant's credits per minute."""
        return await billing_service.summary()

    @get("/ledger")
    async def ledger(
        self,
        billing_service: BillingService,
        page: PageParams,
        kind: LedgerEntryKind | None = None,
        call_id: UUID | None = None,
    ) -> Page[LedgerEntryOut]:
        """The ledger, newest first; filter by ``kind`` or ``call_id``."""
        items, count = await billing_service.entries(page, kind, call_id)
        return Page([to_out(e, LedgerEntryOut) for e in items], count=count, limit=page.limit, offset=page.offset)

    @get("/packages", sync_to_thread=False)
    def packages(self, billing_service: BillingService) -> list[PackageOut]:
        """The top-up packages: price in dollars, base credits and bonus."""
        return billing_service.packages()

    @post("/top-ups", opt=ADMIN)
    async def top_up(self, billing_service: BillingService, data: TopUpIn) -> TopUpOut:
        """Add credits: a package, an amount in dollars (base rate), or a signed adjustment. Credits never expire."""
        posted = await billing_service.top_up(data)
        return TopUpOut(balance=posted.balance, entries=[to_out(e, LedgerEntryOut) for e in posted.entries])

    @get("/auto-reload")
    async def get_auto_reload(self, billing_service: BillingService) -> AutoReloadOut:
        """The low-balance threshold and auto-reload credits."""
        return await billing_service.auto_reload()

    @put("/auto-reload", opt=ADMIN)
    async def put_auto_reload(self, billing_service: BillingService, data: AutoReloadIn) -> AutoReloadOut:
        """Set the threshold (``credits.low`` fires once per crossing below it) and the credits auto-reload adds."""
        return await billing_service.set_auto_reload(data)
