"""Collection functions, with Terraform's results (types included) and errors."""

from __future__ import annotations

import pytest
from fnhelp import call, err, ev, same

from mlform.lang.values import string


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('alltrue(["true", true])', "true"),
        ("alltrue([true, false])", "false"),
        ("alltrue([])", "true"),
        ("anytrue([true, false])", "true"),
        ('anytrue(["true"])', "true"),
        ("anytrue([false])", "false"),
        ("anytrue([])", "false"),
        (
            'chunklist(["a", "b", "c", "d", "e"], 2)',
            'tolist([tolist(["a", "b"]), tolist(["c", "d"]), tolist(["e"])])',
        ),
        (
            'chunklist(["a", "b", "c", "d", "e"], 1)',
            'tolist([tolist(["a"]), tolist(["b"]), tolist(["c"]), tolist(["d"]), tolist(["e"])])',
        ),
        ('chunklist(["a", "b"], 0)', 'tolist([tolist(["a", "b"])])'),
        ('coalesce("a", "b")', '"a"'),
        ('coalesce("", "b")', '"b"'),
        ("coalesce(1, 2)", "1"),
        ('coalesce(1, "hello")', '"1"'),
        ("coalesce(null, 2)", "2"),
        ('coalesce(["a", "b"]...)', '"a"'),
        ('coalescelist(["a", "b"], ["c", "d"])', '["a", "b"]'),
        ('coalescelist([], ["c", "d"])', '["c", "d"]'),
        ('compact(["a", "", "b", null, "c"])', 'tolist(["a", "b", "c"])'),
        ('concat(["a", ""], ["b", "c"])', '["a", "", "b", "c"]'),
        ('concat(tolist(["a"]), tolist(["b"]))', 'tolist(["a", "b"])'),
        ('concat(tolist(["a"]), tolist([1]))', 'tolist(["a", "1"])'),
        ('concat([1], ["a"])', '[1, "a"]'),
        ('contains(["a", "b", "c"], "a")', "true"),
        ('contains(["a", "b", "c"], "d")', "false"),
        ('contains(toset(["a"]), "a")', "true"),
        ('contains(["1"], 1)', "false"),
        ('distinct(["a", "b", "a", "c", "d", "b"])', 'tolist(["a", "b", "c", "d"])'),
        ('element(["a", "b", "c"], 1)', '"b"'),
        ('element(["a", "b", "c"], 3)', '"a"'),
        ('element(["a", "b", "c"], 7)', '"b"'),
        ('element(["a", "b", "c"], length(["a", "b", "c"]) - 1)', '"c"'),
        ('element(tolist(["a", "b"]), 2)', '"a"'),
        ('element(["a", 1], 1)', "1"),
        ('flatten([["a", "b"], [], ["c"]])', '["a", "b", "c"]'),
        ('flatten([[["a", "b"], []], ["c"]])', '["a", "b", "c"]'),
        ('flatten(["a", tolist(["b"]), toset(["c"])])', '["a", "b", "c"]'),
        ("flatten([])", "[]"),
        ('index(["a", "b", "c"], "b")', "1"),
        ("keys({a = 1, c = 2, d = 3})", '["a", "c", "d"]'),
        ("keys(tomap({b = 1, a = 2}))", 'tolist(["a", "b"])'),
        ("keys({})", "[]"),
        ("length([])", "0"),
        ('length(["a", "b"])', "2"),
        ('length({"a" = "b"})', "1"),
        ('length("hello")', "5"),
        ('length("👾🕹️")', "2"),
        ('length("e\u0301")', "1"),
        ('length(toset(["a", "a"]))', "1"),
        ('lookup({a = "ay", b = "bee"}, "a", "what?")', '"ay"'),
        ('lookup({a = "ay", b = "bee"}, "c", "what?")', '"what?"'),
        ('lookup({a = "ay", b = "bee"}, "b")', '"bee"'),
        ('lookup(tomap({a = "ay"}), "a")', '"ay"'),
        ('lookup(tomap({a = 1}), "b", "2")', "2"),
        (
            'matchkeys(["i-123", "i-abc", "i-def"], ["us-west", "us-east", "us-east"], ["us-east"])',
            'tolist(["i-abc", "i-def"])',
        ),
        ('merge({a = "b", c = "d"}, {e = "f", c = "z"})', '{ a = "b", c = "z", e = "f" }'),
        ('merge({a = "b"}, {a = [1, 2], c = "z"}, {d = 3})', '{ a = [1, 2], c = "z", d = 3 }'),
        ('merge(tomap({a = "b"}), tomap({c = "d"}))', 'tomap({ a = "b", c = "d" })'),
        ("merge({a = 1}, null)", "{ a = 1 }"),
        ("merge()", "{}"),
        ("one([])", "null"),
        ('one(["hello"])', '"hello"'),
        ('one(toset(["hello"]))', '"hello"'),
        ("range(3)", "tolist([0, 1, 2])"),
        ("range(1, 4)", "tolist([1, 2, 3])"),
        ("range(1, 8, 2)", "tolist([1, 3, 5, 7])"),
        ("range(1, 4, 0.5)", "tolist([1, 1.5, 2, 2.5, 3, 3.5])"),
        ("range(4, 1)", "tolist([4, 3, 2])"),
        ("range(-3)", "tolist([0, -1, -2])"),
        ("range(10, 5, -2)", "tolist([10, 8, 6])"),
        ("length(range(1024))", "1024"),
        ("range(0, 1, 0.1)[9]", "0.9"),
        ("reverse([1, 2, 3])", "[3, 2, 1]"),
        ('reverse(tolist(["a", "b"]))', 'tolist(["b", "a"])'),
        ('setintersection(["a", "b"], ["b", "c"], ["b", "d"])', 'toset(["b"])'),
        ('setunion(["a", "b"], ["b", "c"], ["d"])', 'toset(["a", "b", "c", "d"])'),
        ('setsubtract(["a", "b", "c"], ["a", "c"])', 'toset(["b"])'),
        ('setsubtract(["a"], [])', 'toset(["a"])'),
        (
            'setproduct(["development", "staging"], ["app1", "app2"])',
            'tolist([["development", "app1"], ["development", "app2"], ["staging", "app1"], '
            '["staging", "app2"]])',
        ),
        ('setproduct(toset(["a"]), toset([1, 2]))', 'toset([["a", 1], ["a", 2]])'),
        ('length(setproduct(["a"], []))', "0"),
        ('slice(["a", "b", "c", "d"], 1, 3)', '["b", "c"]'),
        ('length(slice(tolist(["a", "b", "c"]), 0, 0))', "0"),
        ('slice(tolist(["a", "b", "c"]), 1, 3)', 'tolist(["b", "c"])'),
        ('sort(["e", "d", "a", "x"])', 'tolist(["a", "d", "e", "x"])'),
        ("sort([10, 9, 1])", 'tolist(["1", "10", "9"])'),
        ('sort(["b", "B", "a"])', 'tolist(["B", "a", "b"])'),
        ("sum([10, 13, 6, 4.5])", "33.5"),
        ('sum(["1", 2])', "3"),
        ("sum([0.1, 0.2])", "0.3"),
        ("sum(toset([1, 2]))", "3"),
        (
            'transpose({"a" = ["1", "2"], "b" = ["2", "3"]})',
            'tomap({"1" = tolist(["a"]), "2" = tolist(["a", "b"]), "3" = tolist(["b"])})',
        ),
        ("values({a = 3, c = 2, d = 1})", "[3, 2, 1]"),
        ('values(tomap({b = "x", a = "y"}))', 'tolist(["y", "x"])'),
        ('zipmap(["a", "b"], [1, 2])', "{ a = 1, b = 2 }"),
        ('zipmap(["a", "b"], tolist([1, 2]))', "tomap({ a = 1, b = 2 })"),
        ('zipmap(["a", "a"], tolist([1, 2]))', "tomap({ a = 2 })"),
    ],
)
def test_collection(src: str, expected: str) -> None:
    same(src, expected)


@pytest.mark.parametrize(
    ("src", "summary", "detail"),
    [
        (
            'element(["a"], -1)',
            "Error in function call",
            'Call to function "element" failed: cannot use element function with a negative index.',
        ),
        (
            "element([], 0)",
            "Error in function call",
            'Call to function "element" failed: cannot use element function with an empty list.',
        ),
        (
            'element(["a"], 0.5)',
            "Error in function call",
            'Call to function "element" failed: invalid index: value must be a whole number, between -9223372036854775808 and 9223372036854775807.',
        ),
        (
            "element({a = 1}, 0)",
            "Error in function call",
            'Call to function "element" failed: cannot read elements from object.',
        ),
        (
            'lookup({a = 1}, "b")',
            "Invalid function argument",
            'Invalid value for "inputMap" parameter: the given object has no attribute "b".',
        ),
        (
            'lookup(tomap({a = 1}), "b")',
            "Error in function call",
            'Call to function "lookup" failed: lookup failed to find key "b".',
        ),
        (
            'lookup(tomap({a = 1}), "b", [])',
            "Invalid function argument",
            'Invalid value for "default" parameter: the default value must have the same type as '
            "the map elements.",
        ),
        (
            'lookup(["a"], "b")',
            "Invalid function argument",
            'Invalid value for "inputMap" parameter: lookup() requires a map as the first argument.',
        ),
        (
            'lookup({}, "a", 1, 2)',
            "Error in function call",
            'Call to function "lookup" failed: lookup() takes two or three arguments, got 4.',
        ),
        (
            'index(["a"], "b")',
            "Error in function call",
            'Call to function "index" failed: item not found.',
        ),
        (
            'coalesce("", null)',
            "Error in function call",
            'Call to function "coalesce" failed: no non-null, non-empty-string arguments.',
        ),
        (
            "coalesce(1, [])",
            "Error in function call",
            'Call to function "coalesce" failed: all arguments must have the same type.',
        ),
        (
            "coalescelist([], [])",
            "Error in function call",
            'Call to function "coalescelist" failed: no non-null arguments.',
        ),
        (
            'coalescelist("a")',
            "Error in function call",
            'Call to function "coalescelist" failed: coalescelist arguments must be lists or '
            "tuples.",
        ),
        (
            'concat(["a"], "b")',
            "Invalid function argument",
            'Invalid value for "seqs" parameter: all arguments must be lists or tuples; got string.',
        ),
        (
            'contains("a", "a")',
            "Error in function call",
            'Call to function "contains" failed: argument must be list, tuple, or set.',
        ),
        (
            'chunklist(["a"], -1)',
            "Error in function call",
            'Call to function "chunklist" failed: the size argument must be positive.',
        ),
        (
            'flatten("a")',
            "Invalid function argument",
            'Invalid value for "list" parameter: can only flatten lists, sets and tuples.',
        ),
        (
            'keys("a")',
            "Invalid function argument",
            'Invalid value for "inputMap" parameter: must have map or object type.',
        ),
        (
            "length(5)",
            "Error in function call",
            'Call to function "length" failed: argument must be a string, a collection type, or '
            "a structural type.",
        ),
        (
            "length(null)",
            "Invalid function argument",
            'Invalid value for "value" parameter: argument must not be null.',
        ),
        (
            'matchkeys(["a"], [], [])',
            "Error in function call",
            'Call to function "matchkeys" failed: length of keys and values should be equal.',
        ),
        (
            'merge({a = 1}, "x")',
            "Error in function call",
            'Call to function "merge" failed: arguments must be maps or objects, got "string".',
        ),
        (
            'one(["a", "b"])',
            "Invalid function argument",
            'Invalid value for "list" parameter: must be a list, set, or tuple value with either '
            "zero or one elements.",
        ),
        (
            "range()",
            "Error in function call",
            'Call to function "range" failed: must have one, two, or three arguments.',
        ),
        (
            "range(0, 3, 0)",
            "Invalid function argument",
            'Invalid value for "params" parameter: step must not be zero.',
        ),
        (
            "range(0, 3, -1)",
            "Invalid function argument",
            'Invalid value for "params" parameter: end must be less than start when step is '
            "negative.",
        ),
        (
            "range(3, 0, 1)",
            "Invalid function argument",
            'Invalid value for "params" parameter: end must be greater than start when step is '
            "positive.",
        ),
        (
            "range(1025)",
            "Error in function call",
            'Call to function "range" failed: more than 1024 values were generated; either decrease '
            "the difference between start and end or use a smaller step.",
        ),
        (
            'reverse("ab")',
            "Invalid function argument",
            'Invalid value for "list" parameter: can only reverse list or tuple values, not string.',
        ),
        (
            'setproduct(["a"])',
            "Error in function call",
            'Call to function "setproduct" failed: at least two arguments are required.',
        ),
        (
            'setunion(["a"], [[1]])',
            "Error in function call",
            'Call to function "setunion" failed: given sets must all have compatible element '
            "types.",
        ),
        (
            'slice(["a", "b"], 1, 3)',
            "Invalid function argument",
            'Invalid value for "end_index" parameter: end index must not be greater than the '
            "length of the list.",
        ),
        (
            'slice(["a", "b"], -1, 1)',
            "Invalid function argument",
            'Invalid value for "start_index" parameter: start index must not be less than zero.',
        ),
        (
            'slice(["a", "b"], 2, 1)',
            "Invalid function argument",
            'Invalid value for "start_index" parameter: start index must not be greater than end '
            "index.",
        ),
        (
            'slice("ab", 0, 1)',
            "Invalid function argument",
            'Invalid value for "list" parameter: must be a list or tuple value.',
        ),
        (
            'sort(["a", null])',
            "Error in function call",
            'Call to function "sort" failed: given list element 1 is null; a null string cannot '
            "be sorted.",
        ),
        (
            "sort([[1]])",
            "Invalid function argument",
            'Invalid value for "list" parameter: element 0: string required.',
        ),
        (
            "sum([])",
            "Invalid function argument",
            'Invalid value for "list" parameter: cannot sum an empty list.',
        ),
        (
            'sum("a")',
            "Invalid function argument",
            'Invalid value for "list" parameter: cannot sum noniterable.',
        ),
        (
            'sum(["a"])',
            "Invalid function argument",
            'Invalid value for "list" parameter: argument must be list, set, or tuple of number values.',
        ),
        (
            'zipmap(["a"], [1, 2])',
            "Error in function call",
            'Call to function "zipmap" failed: number of keys (1) does not match number of values '
            "(2).",
        ),
        (
            "concat()",
            "Error in function call",
            'Call to function "concat" failed: at least one argument is required.',
        ),
        (
            'zipmap(["a"], "b")',
            "Error in function call",
            'Call to function "zipmap" failed: values argument must be a list or tuple value.',
        ),
    ],
)
def test_collection_errors(src: str, summary: str, detail: str) -> None:
    d = err(src)
    assert (d.summary, d.detail) == (summary, detail)


def test_more_terraform_messages() -> None:
    d = err('slice(toset(["a"]), 0, 1)')
    assert d.detail.endswith(
        "cannot slice a set, because its elements do not have indices; explicitly convert to a "
        "list if the ordering of the result is not important."
    )
    d = err('slice(["a"], 2, 2)')
    assert d.detail == (
        'Invalid value for "start_index" parameter: start index must not be greater than the '
        "length of the list."
    )
    d = err('slice(["a"], 0.5, 1)')
    assert d.detail == (
        'Invalid value for "start_index" parameter: invalid start index: value must be a whole '
        "number, between -9223372036854775808 and 9223372036854775807."
    )
    d = err('chunklist(["a"], 1.5)')
    assert d.detail.startswith('Call to function "chunklist" failed: invalid size: value must be')
    d = err("values([1])")
    assert d.detail == (
        'Call to function "values" failed: values() requires a map as the first argument.'
    )
    d = err("index([], 1)")
    assert d.detail == 'Call to function "index" failed: cannot search an empty list.'


def test_setproduct_is_a_set_when_any_argument_is_a_set() -> None:
    same('setproduct(toset(["a"]), ["b"])', 'toset([["a", "b"]])')
    same('setproduct(["a"], tolist(["b"]))', 'tolist([["a", "b"]])')


def test_contains_with_unknown_elements() -> None:
    assert ev('contains(["a", var.later], "a")').v is True
    assert not ev('contains(["a", var.later], "b")').is_known
    assert ev("contains([], var.later)").v is False
    assert not ev('contains(["a"], var.later)').is_known


def test_unknown_propagation() -> None:
    assert not ev("element(var.later_list, 0)").is_known
    assert not ev('element(["a"], var.later_num)').is_known
    assert ev("length([var.later, var.later])").v == 2
    assert not ev("length(var.later_list)").is_known
    assert ev("keys({a = var.later})").v == (string("a"),)
    assert not ev('lookup({a = "x"}, var.later, "y")').is_known
    assert not ev('concat(["a"], var.later_list)').is_known
    assert not ev("distinct(var.later_list)").is_known
    assert not ev('coalesce(var.later, "b")').is_known
    assert ev('coalesce("a", var.later)').v == "a"
    assert not ev('flatten([["a"], var.later_list])').is_known
    assert not ev("sum([1, var.later_num])").is_known


def test_sensitive_marks() -> None:
    # A function that picks an element keeps the marks of the elements, not of the others.
    plain = ev('element(["a", var.secret], 0)')
    assert plain.v == "a" and not plain.is_sensitive
    assert ev('element(["a", var.secret], 1)').is_sensitive
    assert not ev('lookup({a = "x", b = var.secret}, "a")').is_sensitive
    assert ev('merge({a = "x"}, {b = var.secret}).b').is_sensitive
    assert not ev('merge({a = "x"}, {b = var.secret}).a').is_sensitive
    # Functions that compute from the whole argument mark the whole result.
    assert ev('length(["a", var.secret])').is_sensitive
    assert ev("length(var.secret)").is_sensitive
    assert ev('sort(["b", var.secret])').is_sensitive
    assert ev('contains(["a", var.secret], "a")').is_sensitive


def test_empty_results_keep_their_element_type() -> None:
    assert ev("range(0)").type.hcl() == "list(number)"
    assert ev('matchkeys([1, 2], ["a", "b"], [])').type.hcl() == "list(number)"
    assert ev('compact(["", null])').type.hcl() == "list(string)"


def test_direct_calls_keep_types() -> None:
    v = call("distinct", ["a", "b", "a"])
    assert v.type.hcl() == "list(string)" and [e.v for e in v.v] == ["a", "b"]
    assert call("one", []).is_null
    assert call("keys", {"b": 1, "a": 2}).to_python() == ["a", "b"]
