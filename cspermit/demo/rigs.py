"""The sync server a walkthrough's tablet enrols with and pushes to: one in this process
(:class:`SyncRig`) or a running one over HTTP (:class:`RemoteRig`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SyncRig:
    """A real sync server in this process (temp SQLite, the FastAPI app over httpx's
    ASGI transport), an enterprise for the demo mill, and an enrolled tablet."""

    CREDIT_CODE = "91530102MA6K3XY09U"

    url = "http://localhost"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.app: Any = None
        self.transport: Any = None
        self.enrolled = False

    async def start(self, enterprise_id: str) -> None:
        """The server, an operator, the enterprise and its admin account."""
        import httpx

        from sync_server.app import create_app
        from sync_server.security import Role as ServerRole
        from sync_server.services import accounts
        from sync_server.settings import Settings
        from sync_server.storage import make_engine, migrate
        from tablet_app.sync_client import SyncClient

        url = f"sqlite:///{self.workdir / 'server.db'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        settings = Settings(db_url=url, argon2_time_cost=1, argon2_memory_cost_kib=64)
        self.app = create_app(settings)
        with self.app.state.engine.begin() as conn:
            accounts.create_account(
                conn,
                self.app.state.passwords,
                username="op",
                password="op-password",
                role=ServerRole.OPERATOR,
            )
        self.transport = httpx.ASGITransport(app=self.app)
        async with SyncClient("http://localhost", transport=self.transport) as op:
            await op.sign_in("op", "op-password")
            async with httpx.AsyncClient(
                transport=self.transport,
                base_url="http://localhost",
                headers={"Authorization": f"Bearer {op.token}"},
            ) as http:
                r = await http.post(
                    "/api/v1/enterprises",
                    json={
                        "enterprise_id": enterprise_id,
                        "name": "甘蔗糖厂 (demo sugar mill)",
                        "credit_code": self.CREDIT_CODE,
                        "jurisdiction": "530102",
                    },
                )
                r.raise_for_status()
                r = await http.post(
                    "/api/v1/accounts",
                    json={
                        "username": "mill-admin",
                        "password": "mill-admin-pass",
                        "role": "enterprise_admin",
                        "enterprise_id": enterprise_id,
                    },
                )
                r.raise_for_status()

    async def enrollment_code(self) -> str:
        from tablet_app.sync_client import SyncClient

        async with SyncClient("http://localhost", transport=self.transport) as admin:
            await admin.sign_in("mill-admin", "mill-admin-pass")
            return await admin.create_enrollment_code("tablet")

    async def enroll(self, store: Any, enterprise_id: str) -> Any:
        from tablet_app.sync_client import SyncClient
        from tablet_app.syncing import enroll_device

        await self.start(enterprise_id)
        code = await self.enrollment_code()
        async with SyncClient(self.url, transport=self.transport) as device:
            enrollment = await enroll_device(store, device, code, "walkthrough tablet")
        self.enrolled = True
        return enrollment

    async def push(self, store: Any) -> tuple[str, Any]:
        from tablet_app.sync_client import SyncClient
        from tablet_app.syncing import sync_all

        token = store.get_setting("device_token")
        async with SyncClient(self.url, transport=self.transport, token=token) as c:
            result = await sync_all(store, c)
        ok = not result["rejected"] and store.count_unacked()["events"] == 0
        return ("synced" if ok else "rejected"), result

    def close(self) -> None:
        if self.app is not None:
            self.app.state.engine.dispose()


class RemoteRig(SyncRig):
    """A running server over HTTP (``scripts/run.sh``): the enterprise admin makes the
    one-time code, and the walkthrough's permit lands on the server's web pages."""

    def __init__(self, url: str, username: str, password: str) -> None:
        super().__init__(Path("."))
        self.url, self.username, self.password = url.rstrip("/"), username, password

    async def start(self, enterprise_id: str) -> None:
        """Nothing to start: the server and its enterprise exist already."""

    async def enrollment_code(self) -> str:
        from tablet_app.sync_client import SyncClient

        async with SyncClient(self.url) as admin:
            await admin.sign_in(self.username, self.password)
            return await admin.create_enrollment_code("walkthrough tablet")
