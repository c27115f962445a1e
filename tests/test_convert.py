"""The converter: tolerant decoding and UNSET-aware encoding."""

from __future__ import annotations

import enum
from typing import Any

import attrs
import pytest

from clerk_async import UNSET, Unset
from clerk_async._convert import structure, unstructure


class Status(str, enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"


@attrs.define(kw_only=True)
class Address:
    id: str | None = None
    email_address: str | None = None


@attrs.define(kw_only=True)
class Phone:
    id: str | None = None
    phone_number: str | None = None


@attrs.define(kw_only=True)
class Thing:
    id: str | None = None
    status: Status | str | None = None
    from_: str | None = attrs.field(default=None, metadata={"json": "from"})
    addresses: list[Address] | None = None
    meta: dict[str, object] | None = None
    contact: Address | Phone | None = None
    count: int | None = None


@attrs.define(kw_only=True)
class Params:
    name: str
    nickname: str | Unset | None = UNSET
    status: Status | Unset = UNSET
    address: Address | Unset = UNSET
    from_: str | Unset = attrs.field(default=UNSET, metadata={"json": "from"})


def test_known_and_unknown_enum_values() -> None:
    assert structure({"status": "active"}, Thing).status is Status.ACTIVE
    odd = structure({"status": "pending_review"}, Thing).status
    assert odd == "pending_review" and not isinstance(odd, Status)


def test_extra_keys_and_missing_fields() -> None:
    thing = structure({"id": "t", "brand_new_field": {"x": 1}}, Thing)
    assert thing.id == "t" and thing.addresses is None and thing.status is None


def test_nested_lists_renamed_keys_and_mappings() -> None:
    thing = structure(
        {
            "from": "a@b.c",
            "addresses": [{"id": "a1", "email_address": "x@y.z", "new": 1}],
            "meta": {"k": [1, 2]},
        },
        Thing,
    )
    assert thing.from_ == "a@b.c"
    assert thing.addresses == [Address(id="a1", email_address="x@y.z")]
    assert thing.meta == {"k": [1, 2]}


def test_union_of_models_picks_best_match() -> None:
    assert isinstance(structure({"contact": {"phone_number": "+1"}}, Thing).contact, Phone)
    assert isinstance(structure({"contact": {"email_address": "a"}}, Thing).contact, Address)


def test_wrong_types_are_kept_not_fatal() -> None:
    thing = structure({"count": "12", "addresses": "oops", "meta": None}, Thing)
    raw: dict[str, object] = attrs.asdict(thing, recurse=False)
    assert raw["count"] == "12"
    assert raw["addresses"] == "oops"


def test_structure_lists_and_raw() -> None:
    assert structure([{"id": "1"}], list[Address]) == [Address(id="1")]
    assert structure({"a": 1}, object) == {"a": 1}
    assert structure({"a": 1}, type(None)) is None


def test_unstructure_drops_unset_keeps_none() -> None:
    params = Params(name="n", nickname=None, status=Status.ACTIVE, from_="f")
    assert unstructure(params) == {"name": "n", "nickname": None, "status": "active", "from": "f"}
    assert unstructure(Params(name="n")) == {"name": "n"}
    nested = {"a": UNSET, "b": [Params(name="x", address=Address(id="a"))], "c": Status.REVOKED}
    assert unstructure(nested) == {
        "b": [{"name": "x", "address": {"id": "a", "email_address": None}}],
        "c": "revoked",
    }


def test_unset_is_falsy_and_reprs() -> None:
    assert not UNSET
    assert repr(UNSET) == "UNSET"


def test_union_member_named_by_object_value() -> None:
    from clerk_async.models import EmailAddress, VerificationAdmin, VerificationOtp

    def verification(kind: str) -> object:
        data: dict[str, object] = {"id": "idn_1", "email_address": "a@example.com"}
        data["verification"] = {"object": kind, "status": "verified", "strategy": "admin"}
        return structure(data, EmailAddress).verification

    # Both members have these keys; only the object value tells them apart.
    assert type(verification("verification_admin")) is VerificationAdmin
    assert type(verification("verification_otp")) is VerificationOtp
    # A kind we do not know falls back to the closest fields, still a model.
    assert attrs.has(type(verification("verification_new_kind")))


def test_model_required_fields_and_non_dict_values() -> None:
    @attrs.define(kw_only=True)
    class Needs:
        name: str
        tags: list[Address] | None = None

    decoded = structure({"name": "x", "tags": [{"id": "a"}, "odd"]}, Needs)
    assert decoded.name == "x" and decoded.tags == [Address(id="a"), "odd"]
    kept: object = structure([1, 2], Needs)
    assert kept == [1, 2]  # the wrong shape is kept, not fatal
    with pytest.raises(KeyError, match="name"):
        structure({}, Needs)


def test_models_with_construction_logic_go_through_init() -> None:
    seen: list[str] = []

    @attrs.frozen(kw_only=True)
    class Frozen:
        id: str | None = None

    def upper(value: str | None) -> str | None:
        return value.upper() if value else value

    @attrs.define(kw_only=True)
    class Checked:
        id: str | None = attrs.field(default=None, converter=upper)

    @attrs.define(kw_only=True)
    class Hooked:
        id: str | None = None

        def __attrs_post_init__(self) -> None:
            seen.append(self.id or "")

    assert structure({"id": "a"}, Frozen) == Frozen(id="a")
    assert structure({"id": "b"}, Checked).id == "B"
    assert structure({"id": "c"}, Hooked).id == "c" and seen == ["c"]
    # A generated model is filled directly and still equals one built by __init__.
    from clerk_async.models import EmailAddress

    decoded = structure({"id": "idn_1", "email_address": "a@example.com"}, EmailAddress)
    assert decoded == EmailAddress(id="idn_1", email_address="a@example.com")
    assert repr(decoded).startswith("EmailAddress(id='idn_1'")


# -- the response-model invariants (see clerk_async._convert.ResponseModel) ----------


def test_response_model_fields_exist_on_the_class_before_any_decode() -> None:
    import subprocess
    import sys

    code = (
        "from clerk_async.models import User\n"
        "before = hasattr(User, 'first_name') and User.first_name is None\n"
        "from clerk_async._convert import structure\n"
        "structure({'id': 'user_1'}, User)\n"
        "print(before, hasattr(User, 'first_name'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


@pytest.mark.parametrize(
    "field",
    [
        attrs.field(default="x"),
        attrs.field(factory=list),
        attrs.field(default=None, validator=attrs.validators.instance_of(str)),
        attrs.field(default=None, converter=str),
    ],
    ids=["non-None default", "factory", "validator", "converter"],
)
def test_response_model_rules_are_checked_when_the_class_is_defined(field: object) -> None:
    from clerk_async._convert import ResponseModel

    with pytest.raises(TypeError, match="defaults to None"):

        @attrs.define(kw_only=True, slots=False)
        class Broken(ResponseModel):
            value: str | None = field  # type: ignore[assignment]


def test_a_slotted_response_model_is_refused() -> None:
    from clerk_async._convert import ResponseModel

    with pytest.raises(TypeError, match="__slots__"):

        @attrs.define(kw_only=True)
        class Slotted(ResponseModel):
            value: str | None = None


def test_unknown_keys_are_not_fields() -> None:
    import pickle

    from clerk_async.models import User

    known = structure({"id": "user_1", "first_name": "Ada"}, User)
    extra = structure({"id": "user_1", "first_name": "Ada", "brand_new": [1]}, User)
    assert extra == known and repr(extra) == repr(known)
    assert attrs.asdict(extra) == attrs.asdict(known)
    assert "brand_new" not in attrs.asdict(extra)
    copy = pickle.loads(pickle.dumps(extra))
    assert copy == extra and copy.first_name == "Ada" and copy.last_name is None


def test_renamed_json_key_reaches_its_field() -> None:
    from clerk_async.models import Jwks

    jwks = structure({"keys": [{"kid": "k1", "kty": "RSA", "x5t#S256": "thumb"}]}, Jwks)
    assert jwks.keys is not None
    assert [(k.kid, getattr(k, "x5t_s256", None)) for k in jwks.keys] == [("k1", "thumb")]


def test_response_model_keeps_wrong_shapes_nested() -> None:
    from clerk_async.models import EmailAddress, User

    user = structure({"id": "u", "email_addresses": [{"id": "e"}, "odd"], "scim": 3}, User)
    scim: object = user.scim
    assert user.email_addresses == [EmailAddress(id="e"), "odd"] and scim == 3


USER_JSON: dict[str, object] = {
    "id": "user_1",
    "object": "user",
    "first_name": "Ada",
    "email_addresses": [
        {
            "id": "idn_1",
            "object": "email_address",
            "email_address": "ada@example.com",
            "verification": {"object": "verification_admin", "status": "verified"},
            "linked_to": [],
        }
    ],
    "phone_numbers": [],
    "scim": {"directory_id": "dir_1"},
}


def test_nested_models_decode_on_first_read_and_stay() -> None:
    from clerk_async.models import EmailAddress, User, UserScim

    user = structure(USER_JSON, User)
    # Nothing nested is built until read; a read builds it once and keeps it.
    assert "EmailAddress" not in repr(vars(user)) and "UserScim" not in repr(vars(user))
    first = user.email_addresses
    assert first is not None and isinstance(first[0], EmailAddress)
    assert first[0].email_address == "ada@example.com" and first[0].verification is not None
    assert user.email_addresses is first
    assert isinstance(user.scim, UserScim) and user.scim.directory_id == "dir_1"
    assert user.scim is user.scim
    # An empty list becomes a list of its own, kept like any other value.
    phones = user.phone_numbers
    assert phones == [] and user.phone_numbers is phones
    added: list[object] = phones  # type: ignore[assignment]
    added.append("added")
    assert user.phone_numbers is phones and len(phones) == 1
    assert structure(USER_JSON, User).phone_numbers == []
    assert user.web3_wallets is None  # absent from the answer
    assert User.email_addresses is None and User.scim is None  # on the class, as before
    # The JSON handed in is not changed.
    assert USER_JSON["phone_numbers"] == [] and isinstance(USER_JSON["scim"], dict)


def test_lazy_models_compare_repr_pickle_and_asdict_like_built_ones() -> None:
    import copy
    import pickle

    from clerk_async.models import EmailAddress, User, UserScim

    decoded = structure(USER_JSON, User)
    built = User(
        id="user_1",
        object="user",
        first_name="Ada",
        email_addresses=[structure(USER_JSON["email_addresses"], list[EmailAddress])[0]],
        phone_numbers=[],
        scim=UserScim(directory_id="dir_1"),
    )
    # Pickled, copied and deep-copied before any nested read: each decodes on its own.
    for twin in (
        pickle.loads(pickle.dumps(structure(USER_JSON, User))),
        copy.copy(structure(USER_JSON, User)),
        copy.deepcopy(structure(USER_JSON, User)),
    ):
        assert twin == built
    assert decoded == built and repr(decoded) == repr(built)
    assert attrs.asdict(structure(USER_JSON, User)) == attrs.asdict(built)
    assert pickle.loads(pickle.dumps(decoded)) == built  # and after the reads
    assert unstructure(structure(USER_JSON, User)) == unstructure(built)


def test_lazy_fields_take_assignment() -> None:
    from clerk_async.models import User, UserScim

    user = structure(USER_JSON, User)
    user.scim = UserScim(directory_id="other")
    assert user.scim.directory_id == "other"
    user.email_addresses = None
    assert user.email_addresses is None
    fresh = User(id="u", phone_numbers=[])
    assert fresh.phone_numbers == [] and fresh.scim is None


def test_held_answers_share_empty_mappings_and_their_kind() -> None:
    import pickle

    from clerk_async.models import User

    answer = {**USER_JSON, "private_metadata": {}, "public_metadata": {"plan": "pro"}}
    first, second = structure(answer, User), structure(dict(answer), User)
    # Until read, every answer's {} is one object, and so is its "object" value.
    assert vars(first)["private_metadata"] is vars(second)["private_metadata"]
    assert vars(first)["object"] is vars(second)["object"] is User.OBJECT
    assert pickle.loads(pickle.dumps(first)) == first
    # Read, each {} is a mapping of its own, kept.
    metadata = first.private_metadata
    assert metadata == {} and first.private_metadata is metadata
    assert metadata is not second.private_metadata
    metadata["seen"] = True
    assert first.private_metadata == {"seen": True} and second.private_metadata == {}
    assert first.public_metadata == {"plan": "pro"} and first.unsafe_metadata is None
    assert first != structure(answer, User) == second  # the marker compares as {}
    assert "private_metadata={'seen': True}" in repr(first)
    # A value of another kind is kept as it came.
    odd = structure({"object": "not_a_user", "private_metadata": []}, User)
    kept: object = odd.private_metadata
    assert odd.object == "not_a_user" and kept == []


def test_held_answers_keep_nested_values_packed_until_read() -> None:
    import datetime
    import pickle
    import sys

    from clerk_async.models import User

    user = structure(USER_JSON, User)
    packed = vars(user)["email_addresses"]
    # Not read yet: one compact string, smaller than the parsed list it stands for.
    assert isinstance(packed, bytes)
    assert sys.getsizeof(packed) < _deep_size(USER_JSON["email_addresses"]) / 2
    # A pickle holds JSON values, not the packed form (private to one Python version).
    assert packed not in pickle.dumps(user)
    assert pickle.loads(pickle.dumps(user)) == structure(USER_JSON, User)
    emails = user.email_addresses
    assert emails is not None and emails is user.email_addresses  # unpacked once, kept
    assert [e.id for e in emails] == [e["id"] for e in USER_JSON["email_addresses"]]  # type: ignore[attr-defined]
    # What cannot be packed (not plain JSON, handed in by hand) is kept as given.
    odd = {**USER_JSON, "public_metadata": {"when": datetime.date(2026, 1, 2)}}
    assert structure(odd, User).public_metadata == {"when": datetime.date(2026, 1, 2)}
    # Bytes assigned to a field are a value like any other, never unpacked.
    raw: Any = b"\x00raw"
    user.public_metadata = raw
    assert vars(user)["public_metadata"] is not raw and user.public_metadata is raw


def _deep_size(value: Any) -> int:
    import sys

    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(v) for v in value.values())
    elif isinstance(value, list):
        size += sum(_deep_size(v) for v in value)
    return size


def test_held_answers_share_their_field_names() -> None:
    """Every decoded instance holds the same key strings, whichever answer (or parser's
    key cache) they came from; keys that are not fields stay, as the answer's own."""
    import json

    from clerk_async._convert import parse_json
    from clerk_async.emulator._store import Store
    from clerk_async.models import User

    full = Store(seed=1).make_user({"email_address": ["ada@example.com"], "first_name": "Ada"})
    assert len(full) > 30  # every key of a real answer, enough to miss a parser's key cache
    body = json.dumps([{**full, "id": f"user_{i}", "not_a_field": i} for i in range(50)])
    users = structure(parse_json(body.encode(), "application/json"), list[User])
    first = {k: k for k in vars(users[0])}
    for user in users[1:]:
        for key in vars(user):
            if key != "not_a_field":
                assert key is first[key], key
    assert [vars(u)["not_a_field"] for u in users] == list(range(50))
    # A field the first answer lacked arrives later all the same.
    late = structure({**USER_JSON, "locale": "fr-FR"}, User)
    assert late.locale == "fr-FR" and users[0].locale is None
    assert users[3] == structure({**full, "id": "user_3", "not_a_field": 3}, User)


def _from_bytes(answer: object, tp: Any, content_type: str = "application/json") -> Any:
    import json

    from clerk_async._convert import model_from_json

    return model_from_json(json.dumps(answer).encode(), content_type, tp)


def test_models_decoded_from_the_bytes_equal_models_decoded_from_json() -> None:
    import copy
    import pickle

    import msgspec

    from clerk_async.emulator._store import Store
    from clerk_async.models import Jwks, User, UserScim

    full = Store(seed=1).make_user({"email_address": ["ada@example.com"], "first_name": "Ada"})
    for answer in (USER_JSON, full, {**full, "brand_new": {"x": [1]}, "scim": None}):
        expected = structure(copy.deepcopy(answer), User)
        user = _from_bytes(answer, User)
        assert isinstance(user, User)
        assert user == expected and repr(user) == repr(expected)
        assert attrs.asdict(user) == attrs.asdict(expected)
        assert pickle.loads(pickle.dumps(_from_bytes(answer, User))) == expected
        assert "brand_new" not in vars(user)  # keys that are not fields are not kept
    user = _from_bytes({**USER_JSON, "public_metadata": {}, "private_metadata": None}, User)
    held = vars(user)
    # Until read, every nested value is its JSON text within the answer, null included.
    nested = ("email_addresses", "scim", "phone_numbers", "public_metadata", "private_metadata")
    assert all(isinstance(held[name], msgspec.Raw) for name in nested)
    assert bytes(held["phone_numbers"]) == b"[]" and bytes(held["private_metadata"]) == b"null"
    assert held["object"] is User.OBJECT
    assert user.private_metadata is None and user.phone_numbers == []
    assert vars(user)["private_metadata"] is None and user.public_metadata == {}
    assert isinstance(user.scim, UserScim) and user.scim is user.scim
    emails = user.email_addresses
    assert emails is not None and emails[0].email_address == "ada@example.com"
    assert emails is user.email_addresses and user.public_metadata == {}
    # Renamed keys and enum values, as on the other way.
    jwks = _from_bytes({"keys": [{"kid": "k1", "kty": "RSA", "x5t#S256": "t"}]}, Jwks)
    assert jwks == structure({"keys": [{"kid": "k1", "kty": "RSA", "x5t#S256": "t"}]}, Jwks)
    assert jwks.keys is not None and jwks.keys[0].x5t_s256 == "t"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'[{"id": "user_1"}]', "application/json"),  # not an object at the top
        (b"null", "application/json"),
        (b'{"id": NaN}', "application/json"),  # not strict JSON: json.loads decides
        (b'{"id": "\\ud800"}', "application/json"),
        (b'{"email_addresses": ["\xff"]}', "application/json"),  # not UTF-8, even unparsed
        (b'{"email_addresses": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"),
        (b'{"id": "user_1"}', "application/json; charset=latin-1"),
        (b"not json", "application/json"),
    ],
)
def test_model_from_json_leaves_to_parse_and_structure_what_it_cannot_vouch_for(
    body: bytes, content_type: str
) -> None:
    from clerk_async._convert import model_from_json
    from clerk_async.models import User

    assert model_from_json(body, content_type, User) is None
    assert model_from_json(b'{"id": "user_1"}', "application/json", User) == User(id="user_1")
    for not_a_model in (object, list[User], Address, dict[str, Any]):
        assert model_from_json(b'{"id": "user_1"}', "application/json", not_a_model) is None


def test_a_nested_value_too_big_for_python_fails_its_read_with_our_error() -> None:
    from clerk_async._convert import model_from_json
    from clerk_async.errors import ClerkDecodeError
    from clerk_async.models import User

    body = b'{"id": "user_1", "public_metadata": {"n": ' + b"7" * 5000 + b"}}"
    user = model_from_json(body, "application/json", User)
    assert user is not None and user.id == "user_1"
    with pytest.raises(ClerkDecodeError, match="nested value"):
        _ = user.public_metadata


def test_list_answers_decoded_from_the_bytes_equal_items_decoded_from_json() -> None:
    import copy
    import pickle

    from clerk_async._convert import ItemsOf, Listing, _JsonText
    from clerk_async.emulator._store import Store
    from clerk_async.models import JwksRsaPublicKey, User

    store = Store(seed=2)
    full = [store.make_user({"email_address": [f"u{i}@example.com"]}) for i in range(3)]
    items = [USER_JSON, *full, {**full[0], "brand_new": [1], "scim": None, "public_metadata": {}}]
    expected = [structure(copy.deepcopy(item), User) for item in items]
    for answer, total in ((items, None), ({"data": items, "total_count": 42}, 42)):
        listing = _from_bytes(answer, ItemsOf[User])
        assert isinstance(listing, Listing) and listing.total_count == total
        assert listing.items == expected and repr(listing.items) == repr(expected)
        assert [attrs.asdict(u) for u in listing.items] == [attrs.asdict(u) for u in expected]
        assert pickle.loads(pickle.dumps(_from_bytes(answer, ItemsOf[User]).items)) == expected
    held = vars(_from_bytes(items, ItemsOf[User]).items[-1])
    # Each nested value is its own copy of its JSON text, not a view of the whole answer;
    # empty ones are the dict path's markers, null ones None; absent fields are not held.
    assert isinstance(held["email_addresses"], _JsonText)
    assert held["email_addresses"].startswith(b"[{") and len(held["email_addresses"]) < 1000
    assert held["scim"] is None and "brand_new" not in held and "phone_numbers" in held
    assert "external_id" not in vars(_from_bytes([{"id": "u"}], ItemsOf[User]).items[0])
    assert (
        held["public_metadata"] is vars(structure({"public_metadata": {}}, User))["public_metadata"]
    )
    # Renamed keys (asdict's way) and the shape of each item are as on the other way.
    keys = [{"kid": "k1", "kty": "RSA", "x5t#S256": "t"}]
    assert _from_bytes(keys, ItemsOf[JwksRsaPublicKey]).items == [
        structure(keys[0], JwksRsaPublicKey)
    ]


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "user_1"}',  # an object without "data"
        b'{"data": null}',
        b'{"data": [1, 2]}',
        b'[{"id": "user_1"}, "user_2"]',
        b'[{"id": NaN}]',
        b'[{"email_addresses": ["\xff"]}]',
        b"null",
    ],
)
def test_list_answers_the_bytes_cannot_vouch_for_come_back_as_json(body: bytes) -> None:
    from clerk_async._convert import ItemsOf, model_from_json
    from clerk_async.models import User

    assert model_from_json(body, "application/json", ItemsOf[User]) is None
    as_is: object = structure([{"id": "u"}], ItemsOf[User])
    assert as_is == [{"id": "u"}]  # the JSON value, as it came
    for not_models in (ItemsOf[Address], ItemsOf[dict[str, Any]], ItemsOf[str]):
        assert model_from_json(b'[{"id": "u"}]', "application/json", not_models) is None
