"""Every size a request can choose is bounded before it is used: a 4xx naming the field,
never a 5xx, never a stall (numbers of thousands of digits, names of any length, deep
JSON, many keys, huge layer sizes, many or large form fields)."""

import pytest

from app import forms
from app import session as ops
from app.bounds import REQUEST_LIMITS, json_problem
from app.engine import InvalidInput, parse_param_name
from app.view import ids
from tests.test_api import problem
from tests.test_pages import HX, Page

DIGITS = "9" * 5000  # past int()'s 4300-digit limit
CLASSIC = ops.create({"preset": "classic"}).state
JSON = {"content-type": "application/json"}


def raw(client, method: str, path: str, body: str | bytes):
    return client.request(method, path, content=body, headers=JSON)


# The JSON API


@pytest.mark.parametrize("key, name", [("weights", "w" + DIGITS), ("biases", f"b{DIGITS}_1")])
def test_a_parameter_name_of_thousands_of_digits(client, classic, key, name):
    r = client.patch(f"/api/networks/{classic}", json={key: {name: 0.3}})
    assert problem(r).startswith(f"{key}.{name[:20]}")
    assert len(r.text) < 1000  # the name is not repeated in full


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/networks/{id}/train", '{"iterations": ' + DIGITS + "}"),
        ("/api/networks", '{"preset": "classic", "seed": ' + DIGITS + "}"),
        ("/api/networks/{id}", '{"learning_rate": 0.' + DIGITS + "}"),
    ],
)
def test_a_number_of_thousands_of_digits(client, classic, path, body):
    method = "PATCH" if path.endswith("{id}") else "POST"
    r = raw(client, method, path.format(id=classic), body)
    assert problem(r) == "body: a number longer than 1000 characters"


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,  # once a RecursionError in the parser
        '{"weights": ' + "[" * 900 + "]" * 900 + "}",
        '{"weights": {"w5": ' + "[" * 40 + "]" * 40 + "}}",
    ],
)
def test_deeply_nested_json(client, classic, body):
    r = raw(client, "PATCH", f"/api/networks/{classic}", body)
    assert problem(r) == "body: nested deeper than 32 levels"


def test_brackets_and_digits_inside_strings_are_text(client, classic):
    assert json_problem(b'{"x": "' + b"[" * 100 + DIGITS.encode() + b'"}') is None
    r = client.patch(f"/api/networks/{classic}", json={"id": "[" * 100 + DIGITS})
    assert problem(r).startswith("id: ")


def test_a_body_that_is_not_utf8(client, classic):
    r = raw(client, "PATCH", f"/api/networks/{classic}", b'{"id": "\xff\xfe"}')
    assert problem(r).startswith("body: not readable as JSON")


def test_a_map_by_name_is_bounded(client, classic):
    names = {f"w{k}": 0.1 for k in range(REQUEST_LIMITS["weights_by_name"] + 1)}
    assert problem(client.patch(f"/api/networks/{classic}", json={"weights": names})).startswith(
        "weights: "
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"inputs": [0.1] * 10_000}, "inputs"),
        ({"weights": [[[0.1] * 17]] * 2}, "weights[0][0]"),
        ({"activations": ["relu"] * 10_000}, "activations"),
    ],
)
def test_lists_are_bounded_by_the_largest_network(client, classic, body, field):
    assert problem(client.patch(f"/api/networks/{classic}", json=body)).startswith(field)


def test_an_unknown_id_is_not_repeated_in_full(client):
    r = client.get("/api/networks/" + "x" * 5000)
    assert problem(r, 404).startswith("id: no network 'xxx")
    assert len(r.text) < 300


def test_the_engine_reads_no_name_of_thousands_of_digits():
    with pytest.raises(InvalidInput):
        parse_param_name((2, 2, 2), "w" + DIGITS)
    with pytest.raises(InvalidInput):
        parse_param_name((2, 2, 2), f"b1_{DIGITS}")


# The page's forms


@pytest.mark.parametrize("name", ["i" + DIGITS, "target_o" + DIGITS, "activation_" + DIGITS])
def test_form_names_of_thousands_of_digits(name):
    with pytest.raises(InvalidInput) as e:
        forms.changes(CLASSIC, {name: "1"})
    assert e.value.field == name


def test_form_numbers_of_thousands_of_digits():
    with pytest.raises(InvalidInput) as e:
        forms.iterations(DIGITS)
    assert e.value.field == "iterations"
    with pytest.raises(InvalidInput) as e:
        forms.number("w5", DIGITS)
    assert e.value.field == "w5"


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "layers, field",
    [
        ("9" * 20 + "-2", "layers[0]"),  # once built a list of 10**20 inputs
        ("2-" + "9" * 20 + "-2", "layers[1]"),
        ("2-2-" + "9" * 3000, "layers"),  # longer than any shape is written: refused whole
        ("2-0-2", "layers[1]"),
        ("-".join(["2"] * 1000), "layers"),
    ],
)
def test_huge_layer_sizes_in_the_new_network_form(layers, field):
    with pytest.raises(InvalidInput) as e:
        forms.new_network({"layers": layers})
    assert e.value.field == field


@pytest.fixture
def lab(client, classic) -> str:
    return f"/n/{classic}"


@pytest.mark.timeout(10)
def test_the_new_network_form_refuses_a_huge_layer_inline(client, lab):
    r = client.post(lab + "/new", data={"layers": "9" * 20 + "-2"}, headers=HX)
    assert r.status_code == 422
    assert Page(r.text).text(ids.MESSAGE).startswith("layers[0]")


@pytest.mark.parametrize(
    "data, field",
    [
        ({"iterations": "9" * 3000}, "iterations"),
        ({"w5": "1" * 3000}, "w5"),
        ({"i" + "9" * 30: "1"}, "i" + "9" * 30),
    ],
)
def test_form_values_too_long_are_refused_inline(client, lab, data, field):
    action = "train" if "iterations" in data else "edit"
    r = client.post(f"{lab}/{action}", data=data, headers=HX)
    assert r.status_code == 422, r.text
    assert Page(r.text).text(ids.MESSAGE).startswith(field)


@pytest.mark.parametrize(
    "data",
    [
        {"w" + DIGITS: "1"},  # a name of thousands of digits
        {"w" + "9" * 100: "1"},  # a name too long
        {"iterations": DIGITS},  # a field over 4 KB
        {"layers": "2-" * 10_000},
        {f"f{k}": "1" for k in range(REQUEST_LIMITS["form_fields"] + 1)},
    ],
)
@pytest.mark.parametrize("action", ["edit", "train", "new", "prefs"])
def test_forms_beyond_the_bounds_are_refused(client, lab, data, action):
    r = client.post(f"{lab}/{action}", data=data, headers=HX)
    assert r.status_code == 422, r.text
    assert all(d["msg"].startswith("form: ") for d in r.json()["detail"])
