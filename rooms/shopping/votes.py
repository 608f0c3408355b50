"""Votes on products: one per participant per product, tallies, the shortlist, timed rounds.

A vote is a yes/no verdict or a score from SCORE_MIN to SCORE_MAX, optionally naming the
variant the voter has in mind. Casting again replaces one's vote on that product; retracting
removes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final

from rooms.shopping.errors import InvalidVote

SCORE_MIN: Final = 1
SCORE_MAX: Final = 5
SCORE_LIKED: Final = 4
"""A product whose mean score reaches this makes the shortlist even without yes votes."""


class Verdict(StrEnum):
    """A yes/no vote."""

    YES = "yes"
    NO = "no"


VoteValue = Verdict | int
"""A Verdict, or a score from SCORE_MIN to SCORE_MAX."""


@dataclass(frozen=True, slots=True)
class Vote:
    """One participant's current opinion of one product (and maybe of one of its variants)."""

    participant_id: str
    product_id: str
    value: VoteValue
    variant_id: str | None = None

    def __post_init__(self) -> None:
        if not self.participant_id or not self.product_id or self.variant_id == "":
            raise InvalidVote("a vote needs a participant and a product (and no empty variant)")
        if isinstance(self.value, Verdict):
            return
        if (
            isinstance(self.value, bool)
            or not isinstance(self.value, int)
            or not SCORE_MIN <= self.value <= SCORE_MAX
        ):
            raise InvalidVote(
                f"a vote is 'yes', 'no' or a score {SCORE_MIN}..{SCORE_MAX}, not {self.value!r}"
            )

    @property
    def key(self) -> tuple[str, str]:
        """What makes a vote unique: (participant, product)."""
        return (self.participant_id, self.product_id)

    def to_dict(self) -> dict[str, Any]:
        value = self.value.value if isinstance(self.value, Verdict) else self.value
        return {
            "participant_id": self.participant_id,
            "product_id": self.product_id,
            "variant_id": self.variant_id,
            "value": value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vote:
        """Parse wire/store data; raises InvalidVote for a malformed vote."""
        raw = data.get("value")
        value: VoteValue
        if isinstance(raw, str):
            try:
                value = Verdict(raw)
            except ValueError:
                raise InvalidVote(f"unknown vote value {raw!r}") from None
        elif isinstance(raw, int):
            value = raw
        else:
            raise InvalidVote(f"unknown vote value {raw!r}")
        variant = data.get("variant_id")
        return cls(
            participant_id=str(data.get("participant_id") or ""),
            product_id=str(data.get("product_id") or ""),
            value=value,
            variant_id=None if variant is None else str(variant),
        )


class BallotBox:
    """The current votes of a room: at most one per participant per product."""

    def __init__(self, votes: Iterable[Vote] = ()) -> None:
        self._votes: dict[tuple[str, str], Vote] = {}
        for vote in votes:
            self.cast(vote)

    def cast(self, vote: Vote) -> Vote | None:
        """Record the vote, replacing the participant's earlier vote on that product, which is
        returned (None if there was none)."""
        previous = self._votes.pop(vote.key, None)
        self._votes[vote.key] = vote
        return previous

    def retract(self, participant_id: str, product_id: str) -> Vote | None:
        """Remove the participant's vote on the product; return it (None if there was none)."""
        return self._votes.pop((participant_id, product_id), None)

    def get(self, participant_id: str, product_id: str) -> Vote | None:
        """The participant's current vote on the product, if any."""
        return self._votes.get((participant_id, product_id))

    def tally(self) -> dict[str, Tally]:
        """The tallies of the current votes (see ``tally``)."""
        return tally(self._votes.values())

    def __iter__(self) -> Iterator[Vote]:
        """Votes in the order they were last cast."""
        return iter(list(self._votes.values()))

    def __len__(self) -> int:
        return len(self._votes)


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts for one product (or, inside ``by_variant``, for one of its variants)."""

    yes: int = 0
    no: int = 0
    score_count: int = 0
    score_total: int = 0
    # Votes that named a variant, counted again per variant (those tallies have no by_variant).
    by_variant: Mapping[str, Tally] = field(default_factory=dict)

    @property
    def net(self) -> int:
        """Yes minus no."""
        return self.yes - self.no

    @property
    def votes(self) -> int:
        """Number of votes of every kind."""
        return self.yes + self.no + self.score_count

    @property
    def mean_score(self) -> Fraction | None:
        """The exact mean of the scores, None without scores."""
        return Fraction(self.score_total, self.score_count) if self.score_count else None

    @property
    def liked(self) -> bool:
        """More yes than no, or a mean score of at least SCORE_LIKED."""
        mean = self.mean_score
        return self.net > 0 or (mean is not None and mean >= SCORE_LIKED)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "yes": self.yes,
            "no": self.no,
            "score_count": self.score_count,
            "score_total": self.score_total,
        }
        if self.by_variant:
            out["by_variant"] = {k: v.to_dict() for k, v in self.by_variant.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tally:
        """The inverse of ``to_dict``."""
        variants = data.get("by_variant") or {}
        return cls(
            yes=int(data.get("yes", 0)),
            no=int(data.get("no", 0)),
            score_count=int(data.get("score_count", 0)),
            score_total=int(data.get("score_total", 0)),
            by_variant={str(k): Tally.from_dict(v) for k, v in sorted(variants.items())},
        )


def _add(t: Tally, value: VoteValue) -> Tally:
    if value is Verdict.YES:
        return replace(t, yes=t.yes + 1)
    if value is Verdict.NO:
        return replace(t, no=t.no + 1)
    return replace(t, score_count=t.score_count + 1, score_total=t.score_total + int(value))


def tally(votes: Iterable[Vote]) -> dict[str, Tally]:
    """Tallies by product id, in product id order.

    Of several votes with one (participant, product), the last one counts, as if each had
    replaced the one before; so a log of casts tallies like a BallotBox.
    """
    current: dict[tuple[str, str], Vote] = {}
    for vote in votes:
        current[vote.key] = vote
    totals: dict[str, Tally] = {}
    variants: dict[str, dict[str, Tally]] = {}
    for vote in current.values():
        totals[vote.product_id] = _add(totals.get(vote.product_id, Tally()), vote.value)
        if vote.variant_id is not None:
            per_variant = variants.setdefault(vote.product_id, {})
            per_variant[vote.variant_id] = _add(
                per_variant.get(vote.variant_id, Tally()), vote.value
            )
    return {
        product_id: replace(
            totals[product_id],
            by_variant={k: v for k, v in sorted(variants.get(product_id, {}).items())},
        )
        for product_id in sorted(totals)
    }


@dataclass(frozen=True, slots=True)
class ShortlistEntry:
    """One liked product, its 1-based rank, and the best-liked variant if votes named one."""

    rank: int
    product_id: str
    tally: Tally
    variant_id: str | None = None


def _merit(t: Tally) -> tuple[int, int, Fraction, int]:
    # Larger is better. No scores ranks below every mean score (scores are at least 1).
    return (t.net, t.yes, t.mean_score or Fraction(0), t.score_count)


def shortlist(
    tallies: Mapping[str, Tally], *, order: Sequence[str] = (), limit: int | None = None
) -> list[ShortlistEntry]:
    """The liked products (``Tally.liked``), best first. Ties break, in turn, by:

    1. net approval (yes - no), higher first;
    2. yes votes, more first;
    3. mean score, higher first (compared exactly; no scores ranks last);
    4. number of scores, more first;
    5. position in ``order`` (the carousel order), earlier first; products not in it after;
    6. product id, in code point order, so the ranking never depends on input order.

    A product's ``variant_id`` is its liked variant ranked the same way (1-4, then id).
    """
    position = {product_id: i for i, product_id in enumerate(order)}
    liked = [(pid, t) for pid, t in tallies.items() if t.liked]
    liked.sort(
        key=lambda item: (_negate(_merit(item[1])), position.get(item[0], len(order)), item[0])
    )
    if limit is not None:
        liked = liked[: max(limit, 0)]
    return [
        ShortlistEntry(rank, product_id, t, _best_variant(t))
        for rank, (product_id, t) in enumerate(liked, start=1)
    ]


def _negate(merit: tuple[int, int, Fraction, int]) -> tuple[int, int, Fraction, int]:
    net, yes, mean, count = merit
    return (-net, -yes, -mean, -count)


def _best_variant(t: Tally) -> str | None:
    liked = [(vid, vt) for vid, vt in t.by_variant.items() if vt.liked]
    if not liked:
        return None
    return min(liked, key=lambda item: (_negate(_merit(item[1])), item[0]))[0]


class RoundState(StrEnum):
    """A vote round only moves forward: scheduled, open, closed."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


_ORDER: Final = {RoundState.SCHEDULED: 0, RoundState.OPEN: 1, RoundState.CLOSED: 2}


@dataclass(frozen=True, slots=True)
class VoteRound:
    """A timed vote on some products (``product_ids``) or on all (None).

    Open from ``opens_at`` included to ``closes_at`` excluded (seconds, the caller's clock),
    unless closed early. ``state`` is what was last recorded; ``at(now)`` brings it up to date.
    """

    opens_at: float
    closes_at: float
    product_ids: tuple[str, ...] | None = None
    state: RoundState = RoundState.SCHEDULED

    def __post_init__(self) -> None:
        if self.closes_at < self.opens_at:
            raise ValueError("a vote round cannot close before it opens")
        if self.product_ids is not None and not self.product_ids:
            raise ValueError("a vote round needs products (or None for all)")

    @classmethod
    def open_now(
        cls, now: float, duration: float, product_ids: Iterable[str] | None = None
    ) -> VoteRound:
        """A round open from ``now`` for ``duration`` seconds."""
        if duration <= 0:
            raise ValueError("a vote round lasts a positive duration")
        ids = None if product_ids is None else tuple(product_ids)
        return cls(now, now + duration, ids, RoundState.OPEN)

    def at(self, now: float) -> VoteRound:
        """This round as of ``now``: opened once ``opens_at`` passed, closed at ``closes_at``."""
        if now >= self.closes_at:
            target = RoundState.CLOSED
        elif now >= self.opens_at:
            target = RoundState.OPEN
        else:
            target = RoundState.SCHEDULED
        if _ORDER[target] <= _ORDER[self.state]:
            return self
        return replace(self, state=target)

    def close(self, now: float) -> VoteRound:
        """Close the round early (idempotent: closing a closed round changes nothing)."""
        current = self.at(now)
        if current.state is RoundState.CLOSED:
            return current
        return replace(
            current, state=RoundState.CLOSED, closes_at=max(self.opens_at, min(self.closes_at, now))
        )

    def covers(self, product_id: str) -> bool:
        """Whether the round is about this product."""
        return self.product_ids is None or product_id in self.product_ids

    def remaining(self, now: float) -> float:
        """Seconds until the round closes (0 once closed)."""
        if self.at(now).state is RoundState.CLOSED:
            return 0.0
        return self.closes_at - now

    def to_dict(self) -> dict[str, Any]:
        return {
            "opens_at": self.opens_at,
            "closes_at": self.closes_at,
            "product_ids": None if self.product_ids is None else list(self.product_ids),
            "state": self.state.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VoteRound:
        ids = data.get("product_ids")
        return cls(
            opens_at=float(data["opens_at"]),
            closes_at=float(data["closes_at"]),
            product_ids=None if ids is None else tuple(str(i) for i in ids),
            state=RoundState(data.get("state", RoundState.SCHEDULED)),
        )


def accepts(round: VoteRound, now: float, product_id: str | None = None) -> bool:
    """Whether the round takes a vote at ``now`` (on ``product_id``, if given)."""
    open_round = round.at(now).state is RoundState.OPEN
    return open_round and (product_id is None or round.covers(product_id))


def vote_allowed(round: VoteRound | None, now: float, product_id: str) -> bool:
    """Whether a vote (or retraction) on ``product_id`` is taken at ``now``.

    Without a round, always. While a round is open, only on its products. Once it closed, never
    on the products it covered (its results stand) until another round replaces it; the others
    are free again.
    """
    if round is None:
        return True
    state = round.at(now).state
    if state is RoundState.OPEN:
        return round.covers(product_id)
    if state is RoundState.CLOSED:
        return not round.covers(product_id)
    return True
