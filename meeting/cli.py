"""The `chibo` command: serve the app, seed the demo, migrate the database, create a commune admin.

Messages for the operator go to stdout in Vietnamese then English; logs go to stderr (see logging_setup).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

from meeting.context import AppContext
from meeting.logging_setup import LOG_LEVELS
from meeting.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from meeting.demo import DemoInfo
    from signaling.endpoint import Live

MIN_ADMIN_PASSWORD = 10
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


def public_url_for(host: str, port: int) -> str:
    """The address people reach: CHIBO_PUBLIC_URL when set, else this host and port (loopback for a wildcard)."""
    configured = os.environ.get("CHIBO_PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def demo_banner(info: DemoInfo, base: str) -> str:
    lines = [
        "",
        "Chi bộ demo đã sẵn sàng / the demo branch is ready" + (" (mới tạo / just created)" if info.created else ""),
        f"  Đăng nhập / sign in:          {base}/",
        f"  Chủ trì / chair console:      {base}/chair?m={info.meeting_id}",
        f"  Thư ký / clerk console:       {base}/clerk?m={info.meeting_id}",
        f"  Màn hình hội trường / hall:   {base}/hall?m={info.meeting_id}",
        f"  Chuẩn bị họp / planning:      {base}/branch   (đảng viên / members: {base}/members)",
        f"  Nghị quyết / resolutions:     {base}/resolutions   (thống kê / statistics: {base}/stats)",
        f"  Cấp ủy xã / commune admin:    {base}/commune",
        "  Tài khoản demo / demo logins (tên đăng nhập / mật khẩu = username / password):",
    ]
    lines += [f"    {username:<10} / {password}   {who}" for username, password, who in info.logins]
    lines.append("  Liên kết mời cho đảng viên ở xa / invite links for remote members:")
    lines += [f"    {name}: {url}" for name, url in info.invite_links]
    lines.append("")
    return "\n".join(lines)


def serve(args: argparse.Namespace) -> int:

    from meeting.app import create_app
    from meeting.logging_setup import configure_logging

    log_config = configure_logging(level=args.log_level)
    settings = Settings.from_env(public_url=public_url_for(args.host, args.port)).with_stable_node_id()
    if args.demo and settings.production:
        print(
            "Không tạo dữ liệu demo khi CHIBO_ENV=production (mật khẩu demo ai cũng biết) / "
            "refusing to seed the demo in production: its passwords are public",
            file=sys.stderr,
        )
        return 2
    if settings.production and not settings.public_url.startswith("https://"):
        # Browsers give the microphone only to secure pages: remote members could not speak.
        print(
            f"Cảnh báo: CHIBO_PUBLIC_URL không phải https, trình duyệt sẽ chặn micrô / "
            f"warning: CHIBO_PUBLIC_URL is not https ({settings.public_url}); browsers will block the microphone",
            file=sys.stderr,
        )
    context = AppContext.create(settings)  # migrates the database to the newest schema first
    if args.demo:
        from meeting.demo import seed_demo

        print(demo_banner(seed_demo(context), settings.public_url), flush=True)
    print(f"chibo đang chạy / serving at {settings.public_url}/  (Ctrl+C để dừng / to stop)", flush=True)
    app = create_app(context=context)
    config = uvicorn_config(app, settings, args.host, args.port, log_config)
    server = _draining_server(config, app.state.live)
    # uvicorn sends SIGTERM to itself again once it has stopped, to this handler: a drained node exits 0.
    # (Before uvicorn takes the signal over, the same handler starts its shutdown.)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: setattr(server, "should_exit", True))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C, likewise raised again by uvicorn once stopped
        server.run()
    return 0 if server.started else 3  # 3: uvicorn's own status when it could not start (port taken)


def uvicorn_config(app: Any, settings: Settings, host: str, port: int, log_config: Any = None) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=log_config,
        ws_max_size=256 * 1024,
        # Events are small; deflating each one separately for every listener costs more CPU than it saves
        # bytes (bench/fanout.py).
        ws_per_message_deflate=False,
        # X-Forwarded-* only from the proxies FORWARDED_ALLOW_IPS names, none by default (uvicorn alone would
        # trust 127.0.0.1, i.e. anyone on this machine or any local proxy that passes the header on): the sign-in
        # throttle counts against the address a client cannot choose.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or [],
    )


def _draining_server(config: uvicorn.Config, live: Live) -> uvicorn.Server:
    import uvicorn

    class DrainingServer(uvicorn.Server):
        """uvicorn, on SIGTERM or Ctrl+C, closes every WebSocket at once (1012) and runs the app's lifespan
        shutdown last: the live side drains first (signaling/endpoint.py, Live.drain), while this node
        still listens, so that clients are sent away only once their meetings' leases are free."""

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + live.settings.drain_s
            try:
                await live.drain()
            except Exception:  # the rest of the shutdown must run all the same
                logging.getLogger("chibo.live").exception("draining the live side failed")
            # The HTTP requests still under way get what is left of the bound.
            self.config.timeout_graceful_shutdown = max(round(deadline - loop.time()), 1)
            await super().shutdown(sockets)

    return DrainingServer(config)


def migrate(args: argparse.Namespace) -> int:
    from meeting.health import database_heads

    settings = Settings.from_env()
    context = AppContext.create(settings)
    revision = ",".join(sorted(database_heads(context.engine)))
    context.engine.dispose()
    where = settings.database_url.split("@")[-1]  # never print a password from the URL
    print(f"cơ sở dữ liệu ở phiên bản mới nhất / database at the newest schema ({revision}): {where}")
    return 0


def _admin_password() -> str | None:
    password = os.environ.get("CHIBO_ADMIN_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        print(
            "Không có bàn phím để hỏi mật khẩu: đặt CHIBO_ADMIN_PASSWORD / "
            "no terminal to ask for the password: set CHIBO_ADMIN_PASSWORD",
            file=sys.stderr,
        )
        return None
    password = getpass.getpass("Mật khẩu / password: ")
    if getpass.getpass("Nhập lại / again: ") != password:
        print("hai lần nhập không khớp / the passwords differ", file=sys.stderr)
        return None
    return password


def create_admin(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from meeting.auth import hash_password
    from meeting.db.models import Commune, User

    username = args.username.strip()
    if not username or len(username) > 100:
        print("tên đăng nhập không hợp lệ / invalid username", file=sys.stderr)
        return 2
    password = _admin_password()
    if password is None:
        return 2
    if len(password) < MIN_ADMIN_PASSWORD:
        print(
            f"mật khẩu quá ngắn (ít nhất {MIN_ADMIN_PASSWORD} ký tự) / "
            f"password too short (at least {MIN_ADMIN_PASSWORD} characters)",
            file=sys.stderr,
        )
        return 2
    context = AppContext.create(Settings.from_env())
    try:
        with context.sessions.begin() as session:
            if session.scalar(select(User).where(User.username == username)) is not None:
                print(f"tên đăng nhập đã có / username already exists: {username}", file=sys.stderr)
                return 1
            if args.commune:
                commune = session.scalar(select(Commune).where(Commune.code == args.commune))
                if commune is None:
                    commune = Commune(code=args.commune, name=args.commune_name or args.commune)
                    session.add(commune)
                    session.flush()
            elif session.scalar(select(func.count()).select_from(Commune)) == 1:
                commune = session.scalars(select(Commune)).one()  # the only commune: no need to name it
            else:
                print(
                    "Cần chọn đảng ủy xã: --commune MÃ / name the commune this admin manages: --commune CODE",
                    file=sys.stderr,
                )
                return 2
            session.add(
                User(
                    username=username,
                    password_hash=hash_password(password),
                    display_name=args.display_name or username,
                    is_admin=True,
                    commune_id=commune.id,
                )
            )
            commune_label = f"{commune.name} ({commune.code})"
    finally:
        context.engine.dispose()
    print(f"đã tạo quản trị viên / admin created: {username} — {commune_label}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chibo", description="Họp chi bộ trực tiếp và trực tuyến / hybrid meetings")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_serve_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
        p.add_argument("--log-level", choices=LOG_LEVELS, help="default: CHIBO_LOG_LEVEL, else info")

    p_serve = sub.add_parser("serve", help="migrate the database and run the service")
    add_serve_options(p_serve)
    p_serve.add_argument("--demo", action="store_true", help="seed the demo branch first (when not there yet)")
    p_serve.set_defaults(func=serve)

    p_demo = sub.add_parser("demo", help="same as serve --demo")
    add_serve_options(p_demo)
    p_demo.set_defaults(func=serve, demo=True)

    p_migrate = sub.add_parser("migrate", help="bring the database to the newest schema")
    p_migrate.set_defaults(func=migrate)

    p_admin = sub.add_parser(
        "create-admin", help="create a commune admin login (password from CHIBO_ADMIN_PASSWORD or asked)"
    )
    p_admin.add_argument("username")
    p_admin.add_argument("--commune", help="code of the commune this admin manages (created when new)")
    p_admin.add_argument("--commune-name", help="name of a new commune, e.g. 'Đảng ủy xã Tân Lập'")
    p_admin.add_argument("--display-name", help="name shown in the apps (default: the username)")
    p_admin.set_defaults(func=create_admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
