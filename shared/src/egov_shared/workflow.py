"""Who may act in a case's state machine (a dossier, a citizen report): the actor both services' rules share.

A rules table names, per transition, the official roles that may take it, the case's owner (the citizen whose
dossier or report it is: each service names that role, ``owner_role``) or the system. The caller establishes
from the token and the case whether an official acts for the case's agency, or whether a citizen owns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, Literal, Self, TypeVar

ActorKind = Literal["citizen", "official", "system"]
SYSTEM = "system"  # the service itself, reacting to an event or a timer

ActionT = TypeVar("ActionT")
StatusT = TypeVar("StatusT")
TargetT = TypeVar("TargetT")


@dataclass(frozen=True)
class Transition(Generic[ActionT, StatusT, TargetT]):
    """One row of a rules table: ``action`` taken from any of ``sources`` by one of ``who`` leads to ``target``
    (a status, or what a service's rules work out from the case, such as "back where it was")."""

    action: ActionT
    sources: frozenset[StatusT]
    target: TargetT
    who: frozenset[str]
    reason_required: bool = False


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    roles: frozenset[str] = frozenset()
    # An official: the case's agency is theirs or one below it.
    acts_for_agency: bool = False
    # A citizen: the case is theirs.
    is_owner: bool = False

    # The name the rules table gives the owner ("applicant", "reporter"); a service's subclass sets it.
    owner_role: ClassVar[str] = "owner"

    @classmethod
    def official(cls, *roles: str, acts_for_agency: bool = True) -> Self:
        return cls("official", frozenset(roles), acts_for_agency=acts_for_agency)

    @classmethod
    def citizen(cls, *, is_owner: bool = True) -> Self:
        return cls("citizen", is_owner=is_owner)

    @classmethod
    def system(cls) -> Self:
        return cls("system")

    def may(self, who: frozenset[str]) -> bool:
        """Whether this actor is among ``who`` (a transition's official roles, owner role or system)."""
        if self.kind == "official":
            return self.acts_for_agency and not self.roles.isdisjoint(who)
        if self.kind == "citizen":
            return self.is_owner and self.owner_role in who
        return SYSTEM in who
