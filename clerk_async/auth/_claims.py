"""Session token claims, in both of Clerk's formats.

Version 1 tokens carry the active organization as top-level ``org_id``, ``org_role``,
``org_slug`` and ``org_permissions`` claims. Version 2 tokens (``"v": 2``) pack it
into ``o``: ``{"id", "rol", "slg", "per", "fpm"}`` plus a top-level ``fea`` list of
scoped features. Permissions are then rebuilt from three parts:

* ``fea``: comma-separated ``scope:feature`` items, where the scope is ``o``
  (organization), ``u`` (user) or both (``ou``/``uo``);
* ``o.per``: comma-separated permission names;
* ``o.fpm``: comma-separated integers, one per organization feature in ``fea`` order;
  bit ``i`` (least significant first) of a feature's integer grants ``per[i]``.

Each granted pair becomes ``org:<feature>:<permission>``.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import TokenVerificationError, TokenVerificationErrorReason

__all__ = ["SessionClaims", "org_permissions_from_v2", "split_features_by_scope"]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def split_features_by_scope(fea: object) -> tuple[list[str], list[str]]:
    """Split a ``fea``/``pla`` claim into ``(organization_items, user_items)``.

    Items without a ``scope:`` prefix, or with an unknown scope, are ignored.
    """
    org: list[str] = []
    user: list[str] = []
    if not isinstance(fea, str) or not fea:
        return org, user
    for part in fea.split(","):
        scope, sep, value = part.strip().partition(":")
        if not sep or not value:
            continue
        if scope in ("o", "ou", "uo"):
            org.append(value)
        if scope in ("u", "ou", "uo"):
            user.append(value)
    return org, user


def org_permissions_from_v2(org: Mapping[str, Any], fea: object) -> list[str]:
    """Rebuild ``org:<feature>:<permission>`` strings from a v2 ``o`` claim and ``fea``."""
    return list(_v2_permissions(org, fea))


def _v2_permissions(org: Mapping[str, Any], fea: object) -> tuple[str, ...]:
    per, fpm = org.get("per"), org.get("fpm")
    if not isinstance(per, str) or not isinstance(fpm, str) or not per or not fpm:
        return ()
    return _permissions(per, fpm, fea if isinstance(fea, str) else None)


@functools.lru_cache(maxsize=256)
def _permissions(per: str, fpm: str, fea: str | None) -> tuple[str, ...]:
    """The permissions of one ``(per, fpm, fea)`` triple. Remembered (bounded): the
    members of an organization with one role carry the same three strings in every
    token, and rebuilding them was a tenth of a fresh token's verification."""
    permissions = [p.strip() for p in per.split(",")]
    features, _ = split_features_by_scope(fea)
    result: list[str] = []
    for feature, raw_bits in zip(features, fpm.split(","), strict=False):
        try:
            bits = int(raw_bits.strip(), 10)
        except ValueError:
            continue
        if bits <= 0:
            continue
        for index, permission in enumerate(permissions):
            if bits >> index & 1 and permission:
                result.append(f"org:{feature}:{permission}")
    return tuple(result)


def _org_role(role: object) -> str | None:
    if not isinstance(role, str) or not role:
        return None
    return role if role.startswith("org:") else f"org:{role}"


@attrs.frozen(kw_only=True)
class SessionClaims:
    """The verified claims of a Clerk session token.

    ``raw`` holds every claim as sent (read-only); the other attributes are the
    ones Clerk defines, with the organization fields normalised across the v1 and
    v2 token formats.

    Example::

        claims = await verify_token(token, clerk=clerk)
        print(claims.user_id, claims.org_id, claims.org_permissions)
    """

    sub: str
    session_id: str | None = None
    azp: str | None = None
    iss: str | None = None
    aud: str | list[str] | None = None
    exp: float
    iat: float | None = None
    nbf: float | None = None
    act: Mapping[str, Any] | None = None
    org_id: str | None = None
    org_role: str | None = None
    org_slug: str | None = None
    org_permissions: tuple[str, ...] = ()
    #: session status (``sts``), e.g. ``"active"`` or ``"pending"``; None when not sent
    session_status: str | None = None
    #: token format version (``v``): 1 when absent
    version: int = 1
    #: raw ``fea`` claim (scoped features), when sent
    features: str | None = None
    #: raw ``pla`` claim (scoped plans), when sent
    plans: str | None = None
    #: factor verification age in minutes (``fva``), when sent
    factor_verification_age: tuple[int, int] | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def user_id(self) -> str:
        """The user's id (the ``sub`` claim)."""
        return self.sub

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SessionClaims:
        """Build claims from a decoded payload, checking the claims every token needs.

        Raises :class:`TokenVerificationError` (``missing_claim``) when ``sub`` or
        ``exp`` is absent, or a time claim is not a number.
        """
        sub = payload.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenVerificationError(
                TokenVerificationErrorReason.MISSING_CLAIM, "the token has no 'sub' claim"
            )
        exp = payload.get("exp")
        if not _is_number(exp):
            raise TokenVerificationError(
                TokenVerificationErrorReason.MISSING_CLAIM, "the token has no numeric 'exp' claim"
            )
        times: dict[str, float | None] = {}
        for name in ("iat", "nbf"):
            value = payload.get(name)
            if value is not None and not _is_number(value):
                raise TokenVerificationError(
                    TokenVerificationErrorReason.MISSING_CLAIM,
                    f"the '{name}' claim is not a number",
                )
            times[name] = value

        version = payload.get("v")
        org_id = org_role = org_slug = None
        permissions: tuple[str, ...] | list[str] = ()
        if version == 2:
            org = payload.get("o")
            if org.__class__ is dict or isinstance(org, Mapping):
                org_id = _opt_str(org.get("id"))
                org_slug = _opt_str(org.get("slg"))
                org_role = _org_role(org.get("rol"))
                permissions = _v2_permissions(org, payload.get("fea"))
        else:
            org_id = _opt_str(payload.get("org_id"))
            org_slug = _opt_str(payload.get("org_slug"))
            org_role = _opt_str(payload.get("org_role"))
            raw_perms = payload.get("org_permissions")
            if isinstance(raw_perms, list):
                permissions = [p for p in raw_perms if isinstance(p, str)]

        aud = payload.get("aud")
        if isinstance(aud, list):
            aud = [a for a in aud if isinstance(a, str)]
        elif not isinstance(aud, str):
            aud = None
        act = payload.get("act")
        fva = payload.get("fva")
        factor_age: tuple[int, int] | None = None
        if (
            isinstance(fva, list)
            and len(fva) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in fva)
        ):
            factor_age = (fva[0], fva[1])
        return cls(
            sub=sub,
            session_id=_opt_str(payload.get("sid")),
            azp=_opt_str(payload.get("azp")),
            iss=_opt_str(payload.get("iss")),
            aud=aud,
            exp=exp,  # type: ignore[arg-type]
            iat=times["iat"],
            nbf=times["nbf"],
            act=types.MappingProxyType(dict(act))
            if act is not None and isinstance(act, Mapping)
            else None,
            org_id=org_id,
            org_role=org_role,
            org_slug=org_slug,
            org_permissions=tuple(permissions),
            session_status=_opt_str(payload.get("sts")),
            version=version if isinstance(version, int) and not isinstance(version, bool) else 1,
            features=_opt_str(payload.get("fea")),
            plans=_opt_str(payload.get("pla")),
            factor_verification_age=factor_age,
            raw=types.MappingProxyType(dict(payload)),
        )
