"""Scenario files (TOML and YAML) and flags: merged, validated, with errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.scenario import (
    FIELDS,
    JoinSchedule,
    Scenario,
    ScenarioError,
    build,
    from_mapping,
    parse_duration,
    plan_room,
)

TOML = """
url = "http://127.0.0.1:8080"
rooms = 3
peers = 10
publishers = 4
preset = "720p"
duration = "2m"
warmup = "5s"
ramp = 5
churn = 0.5
fail_if = ["latency.p99>200ms", "frames.lost>0"]

[[faults]]
kind = "block_video"
peer = "r1p2"
at = "10s"
for = "1500ms"
"""


def test_toml_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML)
    s = build(path, {})
    assert (s.url, s.rooms, s.peers, s.publishers, s.preset) == (
        "http://127.0.0.1:8080", 3, 10, 4, "720p")
    assert (s.duration, s.warmup, s.ramp, s.churn) == (120.0, 5.0, 5.0, 0.5)
    assert [t.text for t in s.thresholds] == ["latency.p99>200ms", "frames.lost>0"]
    assert [(f.peer, f.at, f.duration) for f in s.faults] == [("r1p2", 10.0, 1.5)]


def test_yaml_scenario_reads_like_toml(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("url: http://localhost:9000\nrooms: 2\npeers: 4\nduration: 6s\n"
                    "max-rooms: 8\nfail_if: latency.p99>100ms\n")
    s = build(path, {})
    assert (s.rooms, s.peers, s.duration, s.max_rooms, s.max_rooms_limit) == (2, 4, 6.0, True, 8)
    assert [t.metric for t in s.thresholds] == ["latency.p99"]


def test_flags_override_the_file_and_add_thresholds(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML)
    s = build(path, {"rooms": 2, "preset": None, "fail_if": ["errors>2"]})
    assert (s.rooms, s.preset) == (2, "720p")
    with pytest.raises(ScenarioError, match="fault peer 'r1p2' is not in this scenario"):
        build(path, {"rooms": 1})
    assert [t.text for t in s.thresholds] == ["latency.p99>200ms", "frames.lost>0", "errors>2"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # ranges and types
        ({"rooms": 0}, "rooms: input should be greater than or equal to 1, got 0"),
        ({"peers": "ten"}, "peers: input should be a valid integer, got 'ten'"),
        ({"rooms": True}, "rooms: input should be a valid integer, got True"),
        ({"workers": 0}, "workers: input should be greater than or equal to 1, got 0"),
        ({"publishers": -1}, "publishers: input should be greater than or equal to 0"),
        ({"max_rooms_limit": 0}, "max_rooms_limit: input should be greater than or equal to 1"),
        ({"ramp": -1}, "ramp: input should be greater than 0, got -1"),
        ({"ramp": 0}, "ramp: input should be greater than 0, got 0"),
        ({"churn": -0.5}, "churn: input should be greater than or equal to 0, got -0.5"),
        ({"churn": True}, "churn: input should be a valid number, got True"),
        # durations
        ({"duration": "soon"}, "duration: must be a duration like 60s, 2m or 500ms, got 'soon'"),
        ({"warmup": "-3s"}, "warmup: must be a duration like 60s"),
        ({"join_timeout": -1}, "join_timeout: input should be greater than or equal to 0"),
        ({"duration": 0}, "duration: input should be greater than 0, got 0.0"),
        ({"duration": True}, "duration: must be a duration like 60s"),
        # strings
        ({"preset": "4k"}, "preset: must be one of 180p, 360p, 720p, got '4k'"),
        ({"url": "localhost:8080"}, "url: must look like http://host:port, got 'localhost:8080'"),
        ({"room_prefix": "a b"}, "room_prefix: must be 1-40 of A-Z a-z 0-9 _ -, got 'a b'"),
        ({"json": ""}, "json: string should have at least 1 character"),
        ({"plot": 3}, "plot: input should be a valid string, got 3"),
        # keys
        ({"rooms_count": 3},
         "unknown field 'rooms_count'; fields are batched_receive, churn, compiled_receive, "
         "compiled_send, duration"),
        # thresholds
        ({"fail_if": ["latency.p99>>2"]}, "fail_if: cannot parse threshold 'latency.p99>>2'"),
        ({"fail_if": ["latency.p42>3ms"]}, "fail_if: unknown metric 'latency.p42'"),
        ({"fail_if": [3]}, "fail_if: must be a list of strings"),
        ({"max_rooms": "yes"}, "max_rooms must be true/false or a room limit >= 1, got 'yes'"),
        ({"max_rooms": 0}, "max_rooms must be true/false or a room limit >= 1, got 0"),
        # faults
        ({"faults": {"kind": "block_video"}}, "faults: must be a list of tables"),
        ({"faults": [{"kind": "drop_all", "peer": "r0p0"}]},
         "faults[0].kind: input should be 'block_video', got 'drop_all'"),
        ({"faults": [{"kind": "block_video", "peer": "alice"}]},
         "faults[0].peer: must name a peer like 'r0p1', got 'alice'"),
        ({"faults": [{"kind": "block_video", "peer": "r0p1", "when": 1}]},
         "unknown field 'faults[0].when'; fields are at, for, kind, peer"),
        ({"faults": [{"kind": "block_video", "peer": "r0p1", "for": "a while"}]},
         "faults[0].for: must be a duration like 60s"),
        # rules over several fields
        ({"warmup": "40s"}, "warmup (40s) must be shorter than the duration (30s)"),
        ({"peers": 2, "publishers": 3}, "publishers (3) cannot exceed peers per room (2)"),
        ({"faults": [{"kind": "block_video", "peer": "r4p0"}]}, "fault peer 'r4p0' is not in"),
        ({"peers": 3, "publishers": 1, "faults": [{"kind": "block_video", "peer": "r0p2"}]},
         "is a viewer"),
    ],
)
def test_bad_fields_say_what_to_fix(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        from_mapping(data, "s.toml")
    assert str(info.value).startswith("s.toml")
    assert message in str(info.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        build(tmp_path / "missing.toml", {})
    broken = tmp_path / "broken.toml"
    broken.write_text("rooms = [1,\n")
    with pytest.raises(ScenarioError, match="invalid TOML"):
        build(broken, {})
    not_a_table = tmp_path / "list.yaml"
    not_a_table.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="a scenario is a table of fields"):
        build(not_a_table, {})
    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text("rooms: [1\n")
    with pytest.raises(ScenarioError, match="invalid YAML"):
        build(bad_yaml, {})


def test_durations() -> None:
    assert [parse_duration(x) for x in (60, 1.5, "60s", "500ms", "2m", "1h", " 3 s ")] == [
        60.0, 1.5, 60.0, 0.5, 120.0, 3600.0, 3.0]
    with pytest.raises(ScenarioError, match="must be a duration like 60s"):
        parse_duration("-3s")
    with pytest.raises(ScenarioError, match="greater than or equal to 0"):
        parse_duration(-3)


def test_every_problem_is_reported_and_the_model_documents_every_key() -> None:
    with pytest.raises(ScenarioError) as info:
        from_mapping({"rooms": 0, "peers": 0}, "flags")
    assert str(info.value).splitlines() == [
        "flags: rooms: input should be greater than or equal to 1, got 0",
        "flags: peers: input should be greater than or equal to 1, got 0"]
    schema = Scenario.model_json_schema(by_alias=True)
    assert set(schema["properties"]) == set(FIELDS)
    assert all(p.get("description") for p in schema["properties"].values())
    assert schema["additionalProperties"] is False


def test_plans_put_publishers_first_and_name_peers_for_faults() -> None:
    s = Scenario(rooms=2, peers=3, publishers=1, room_prefix="t")
    plans = plan_room(s, 1)
    assert [(p.room, p.name, p.index, p.publish) for p in plans] == [
        ("t-1", "r1p0", 3, True), ("t-1", "r1p1", 4, False), ("t-1", "r1p2", 5, False)]


def test_join_schedule_paces_joins() -> None:
    plans = plan_room(Scenario(peers=5), 0)
    ramp = JoinSchedule(plans, rate=2.0, start=100.0)
    assert [p.name for p in ramp.due(100.0)] == ["r0p0"]
    assert ramp.due(100.4) == []
    assert ramp.next_at() == 100.5
    assert [p.name for p in ramp.due(101.2)] == ["r0p1", "r0p2"]
    assert [p.name for p in ramp.due(110.0)] == ["r0p3", "r0p4"]
    assert ramp.done
    burst = JoinSchedule(plans, rate=None, start=0.0)
    assert len(burst.due(0.0)) == 5 and burst.done


def test_every_key_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "LOADTEST.md").read_text()
    for key in FIELDS:
        assert f"`--{key.replace('_', '-')}" in doc or f"`{key}`" in doc, key


def test_a_live_scenarios_viewers_enter_through_every_node_in_turn() -> None:
    s = Scenario(url="http://o:1", nodes=("http://e1:1", "http://e2:1"), kind="live", peers=5,
                 publishers=1, room_prefix="t")
    assert [(p.name, p.publish, p.url) for p in plan_room(s, 0)] == [
        ("r0p0", True, None), ("r0p1", False, "http://o:1"), ("r0p2", False, "http://e1:1"),
        ("r0p3", False, "http://e2:1"), ("r0p4", False, "http://o:1")]
    assert all(p.url is None for p in plan_room(Scenario(peers=3), 0))
