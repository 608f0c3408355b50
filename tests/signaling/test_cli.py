"""The ``coshop`` command: argument parsing, and a real ``coshop serve`` process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from rooms.catalog import SAMPLE_CATALOG_FILE, import_coshop_json
from signaling.cli import COMMANDS, Subparsers, build_parser, main
from signaling.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-c", "import sys; from signaling.cli import main; sys.exit(main())",
         "serve"]


def test_subcommands_register_through_the_registry() -> None:
    def add_hello(subparsers: Subparsers) -> None:
        p = subparsers.add_parser("hello")
        p.add_argument("--who", default="world")
        p.set_defaults(func=lambda args: 7 if args.who == "you" else 0)

    parser = build_parser([*COMMANDS, add_hello])
    args = parser.parse_args(["hello", "--who", "you"])
    assert args.func(args) == 7
    serve = parser.parse_args(["serve", "--port", "9", "--capacity", "4", "--log-level", "debug"])
    assert (serve.port, serve.room_capacity, serve.log_level, serve.host) == (9, 4, "DEBUG", None)


def test_serve_has_a_flag_for_every_setting() -> None:
    parser = build_parser()
    given = parser.parse_args(["serve"])
    assert {name: getattr(given, name) for name in Settings.model_fields} == dict.fromkeys(
        Settings.model_fields
    )  # nothing given: the environment and the defaults decide
    args = parser.parse_args([
        "serve", "--no-rate-limits", "--allow-h264", "--token-ttl", "60", "--room-capacity", "5",
        "--jwt-public-key", "brand.pem",
    ])
    assert (args.rate_limits, args.allow_h264, args.token_ttl, args.room_capacity) == (
        False, True, 60.0, 5
    )
    assert args.jwt_public_key == Path("brand.pem")
    help_text = parser._subparsers._group_actions[0].choices["serve"].format_help()  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items():
        assert f"COSHOP_{name.upper()}" in help_text
        assert field.description and field.description.split()[0] in help_text


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--port", "eighty"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main([])
    assert "COMMAND" in capsys.readouterr().err


def test_invalid_setting_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COSHOP_ROOM_CAPACITY", "0")
    assert main(["serve"]) == 2
    assert "COSHOP_ROOM_CAPACITY" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_serve_prints_url_and_stops_gracefully(signum: signal.Signals) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
    env.update(PYTHONPATH=str(ROOT), COSHOP_NODE_ID="cli-node")
    process = await asyncio.create_subprocess_exec(
        *SERVE, "--port", "0", "--capacity", "3",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = re.fullmatch(r"coshop serving on (http://127\.0\.0\.1:\d+) "
                             r"\(store: memory, loop: uvloop\)\n",
                             line)
        assert match, line
        url = match.group(1)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/healthz") as response:
                assert (await response.json())["node_id"] == "cli-node"
            async with http.post(f"{url}/api/rooms", json={"id": "r"}) as response:
                assert (await response.json())["capacity"] == 3
            async with http.ws_connect(f"{url}/ws") as ws:
                await ws.send_json({"type": "join", "room": "r", "name": "ann"})
                assert (await ws.receive_json())["type"] == "joined"
                process.send_signal(signum)
                # The server takes us out of the room and closes the socket: going away.
                closing = await asyncio.wait_for(ws.receive(), 10)
                while closing.type is aiohttp.WSMsgType.TEXT:
                    closing = await asyncio.wait_for(ws.receive(), 10)
                assert closing.type is aiohttp.WSMsgType.CLOSE
                assert closing.data == 1001 and closing.extra == "server shutting down"
        assert await asyncio.wait_for(process.wait(), 30) == 0
        err = (await process.stderr.read()).decode()
        assert "shutting down" in err and "Traceback" not in err
        assert re.search(r"session \w+ \(127\.0\.0\.1\) closed: server shutting down", err)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


CATALOG_DATA = ROOT / "tests" / "catalog" / "data"


def test_catalog_import_reports_problems_and_writes_coshop_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "catalog.json"
    code = main(["catalog", "import", str(CATALOG_DATA / "shopify_products.json"),
                 "--currency", "eur", "--output", str(out)])
    printed = capsys.readouterr().out
    assert printed.startswith(f"{CATALOG_DATA / 'shopify_products.json'}: shopify\n")
    lines = printed.splitlines()
    assert "  item 1: variants[2].price: not a decimal amount: '24.5.0'" in lines
    assert lines[-2:] == ["3 products, 4 variants, 8 problems", f"wrote {out}"]
    assert code == 1  # rows were skipped
    written = import_coshop_json(out.read_text())
    assert written.problems == () and written.catalog.products
    assert {p.currency for p in written.catalog.products} == {"EUR"}
    assert written.catalog.shopify_shop is None
    # --shop keeps the store's domain: the converted catalog checks out there (issue 15).
    main(["catalog", "import", str(CATALOG_DATA / "shopify_products.json"),
          "--shop", "Friends.myshopify.com", "--output", str(out)])
    assert import_coshop_json(out.read_text()).catalog.shopify_shop == "friends.myshopify.com"
    # --id names the catalog: people's ratings are kept under it.
    main(["catalog", "import", str(CATALOG_DATA / "gmc_feed.tsv"), "--id", "fall-feed",
          "--output", str(out)])
    assert import_coshop_json(out.read_text()).catalog.id == "fall-feed"
    capsys.readouterr()
    assert main(["catalog", "import", str(CATALOG_DATA / "gmc_feed.tsv"), "--id", " ",
                 "--output", str(out)]) == 2
    assert capsys.readouterr().out.startswith("error: --id: ")


def test_catalog_import_of_a_clean_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "import", str(SAMPLE_CATALOG_FILE)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "8 products, 23 variants, 0 problems"


@pytest.mark.parametrize(
    ("name", "fmt"), [("gmc_feed.tsv", "gmc_tsv"), ("gmc_feed.xml", "gmc_xml")]
)
def test_catalog_import_names_rows_with_problems(
    name: str, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "import", str(CATALOG_DATA / name), "--format", fmt]) == 1
    lines = capsys.readouterr().out.splitlines()
    unit = "line" if fmt == "gmc_tsv" else "item"
    assert lines[0].endswith(f": {fmt}")
    assert lines[1:-1] and all(re.match(rf"  {unit} \d+: ", line) for line in lines[1:-1])


def test_catalog_import_of_an_unreadable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "import", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().out.startswith("error: ")
    with pytest.raises(SystemExit) as info:
        main(["catalog", "import", "x.json", "--format", "csv"])
    assert info.value.code == 2
