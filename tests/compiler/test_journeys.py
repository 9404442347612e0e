"""Journeys compiled: `Contact.journey` (now and as of a past moment) and `Account.journey`,
answered exactly as the resolvers answer them, durations printed as Python prints floats."""

import re

import pytest

from tests.compiler.test_differential import _compare

JOURNEY = """query($asOf: DateTime) {
  contacts(first: 25, orderBy: [{field: CREATED_AT}]) { nodes { fullName journey(asOf: $asOf) {
    __typename asOf stage enteredStageAt touchpointCount
    transitions { __typename fromStage toStage enteredAt exitedAt durationSeconds regression
                  interaction { id channel } }
    touchpointsByStage { stage count }
    touchpointsByChannel { __typename channel count }
    firstTouch { occurredAt channel source utmSource utmMedium campaign interaction { id summary } }
    last: lastTouch { __typename occurredAt channel source campaign }
  } } }
  accounts(first: 10) { nodes { name journey { __typename furthestStage
    contactsByStage { __typename stage count } } } }
}"""


@pytest.mark.parametrize("caller", ["admin", "no_pii"])
@pytest.mark.parametrize(
    "as_of", [None, "2020-01-01T00:00:00Z", "2026-06-01T12:30:00+07:00", "2100-01-01T00:00:00Z"]
)
async def test_journeys_answer_the_same_compiled(demo_api, caller, as_of):
    body = await _compare(demo_api(caller), JOURNEY, {"asOf": as_of}, compiled=True)
    journeys = [c["journey"] for c in body["data"]["contacts"]["nodes"]]
    if as_of is None:
        assert any(len(j["transitions"]) > 1 and j["touchpointCount"] for j in journeys)


TRACK = """mutation($input: TrackInteractionInput!) { trackInteraction(input: $input) {
  interaction { id } userErrors { field message code } } }"""


async def test_durations_print_as_python_floats(api):
    """Stays of a microsecond, of 15, of 1.5 days: the float's shortest text, exponent and all."""
    created = await api.mutate(
        'mutation { createContact(input: {firstName: "Quick"}) {'
        " contact { id } userErrors { field message code } } }"
    )
    contact = created["contact"]["id"]
    moments = [
        ("2030-01-01T00:00:00Z", "CONSIDERATION"),
        ("2030-01-01T00:00:00.000001Z", "DECISION"),
        ("2030-01-01T00:00:00.000016Z", "RETENTION"),
        ("2030-01-02T12:00:00.000016Z", "ADVOCACY"),
    ]
    for at, stage in moments:
        body = {"contactId": contact, "channel": "WEB", "kind": "OTHER", "occurredAt": at}
        await api.mutate(TRACK, input={**body, "journeyStage": stage})
    query = """query($id: ID!) { contact(id: $id) { journey {
      transitions { toStage durationSeconds } touchpointsByStage { stage count } } } }"""
    body = await _compare(api, query, {"id": contact}, compiled=True)
    durations = [t["durationSeconds"] for t in body["data"]["contact"]["journey"]["transitions"]]
    assert durations[-4:] == [1e-06, 1.5e-05, 129600.0, None], durations
    texts = [
        (await api.post(query, {"id": contact}, **{"X-Relasi-Read-Path": path})).text
        for path in ("resolvers", "compiled")
    ]
    # the numbers as written (JSON whitespace differs between the paths, numbers must not)
    written = [re.findall(r'"durationSeconds"\s*:\s*([^,}]+)', text) for text in texts]
    assert written[0] == written[1] and written[1][-4:] == ["1e-06", "1.5e-05", "129600.0", "null"]


@pytest.mark.parametrize(
    "selection", ["asOf", "__typename asOf", "stage", "asOf touchpointsByStage { count }"]
)
async def test_a_journey_as_of_with_few_fields(demo_api, selection):
    """A moment the selection does not read (only echoed back) is no statement parameter."""
    query = (
        '{ contacts(first: 3) { nodes { journey(asOf: "2026-01-01T00:00:00Z") { '
        + selection
        + " } } } }"
    )
    await _compare(demo_api(), query, compiled=True)
