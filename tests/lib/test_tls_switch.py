"""The deployment-wide TLS switch: units to application, applications to the controller's
decision (pure)."""

from __future__ import annotations

import ops

from contrail_common.tls.certificate import CaIdentity
from contrail_common.tls.fields import TlsReportFields, TlsSwitchFields, TlsUnitFields
from contrail_common.tls.switch import (
    OFF,
    AppTls,
    Decision,
    Switch,
    application_tls,
    decide,
    unit_fields,
)

CA_A = CaIdentity("a" * 64, "CN=CA one")
CA_B = CaIdentity("b" * 64, "CN=CA two")


def _unit(ca: CaIdentity | None) -> TlsUnitFields:
    return TlsUnitFields.model_validate(unit_fields(ca))


def test_an_unrelated_application_is_off_whatever_its_units_say():
    assert application_tls("contrail-agent", False, {"contrail-agent/0": _unit(CA_A)}) == (
        AppTls("contrail-agent", "off"),
        [],
    )


def test_an_application_is_ready_only_when_every_unit_holds_a_certificate():
    units = {"contrail-agent/0": _unit(CA_A), "contrail-agent/1": _unit(None)}
    assert application_tls("contrail-agent", True, units)[0].state == "pending"
    units["contrail-agent/1"] = _unit(CA_A)
    assert application_tls("contrail-agent", True, units) == (
        AppTls("contrail-agent", "ready", CA_A),
        [],
    )
    assert application_tls("contrail-agent", True, {})[0].state == "pending"


def test_units_on_two_cas_leave_the_application_pending_naming_both():
    units = {"a/0": _unit(CA_A), "a/1": _unit(CA_B)}
    report, problems = application_tls("a", True, units)
    assert report.state == "pending"
    assert isinstance(problems[0], ops.WaitingStatus)
    assert "'CN=CA one'" in problems[0].message and "'CN=CA two'" in problems[0].message


APPS = ("contrail-controller", "contrail-analytics", "contrail-analyticsdb", "contrail-agent")


def _all(state, ca=None) -> list[AppTls]:
    return [AppTls(app, state, ca) for app in APPS]


def test_no_application_wanting_tls_keeps_it_off_quietly():
    assert decide(_all("off"), OFF).switch == OFF
    assert decide(_all("off"), OFF).problems == ()


def test_tls_turns_on_only_when_every_application_is_ready_from_one_ca():
    apps = _all("ready", CA_A)
    apps[3] = AppTls("contrail-agent", "pending")
    decision = decide(apps, OFF)
    assert decision.switch == OFF
    assert decision.problems == (
        ops.WaitingStatus("TLS stays off until every unit of contrail-agent holds a certificate"),
    )
    apps[3] = AppTls("contrail-agent", "ready", CA_A)
    assert decide(apps, OFF) == decide(apps, Switch(True, CA_A))
    assert decide(apps, OFF).switch == Switch(True, CA_A)
    assert decide(apps, OFF).problems == ()


def test_applications_not_yet_reporting_want_nothing_on_their_own():
    apps = [AppTls("contrail-controller", "off"), *(AppTls(a, None) for a in APPS[1:])]
    assert decide(apps, OFF) == decide(_all(None), OFF) == Decision(OFF)


def test_an_application_not_yet_reporting_counts_as_pending():
    apps = [*_all("ready", CA_A)[:3], AppTls("contrail-agent", None)]
    assert decide(apps, OFF).switch == OFF


def test_once_on_a_pending_application_does_not_turn_tls_off():
    """A unit added, or a certificate re-requested for new addresses: that unit waits."""
    on = Switch(True, CA_A)
    apps = [*_all("ready", CA_A)[:3], AppTls("contrail-agent", "pending")]
    decision = decide(apps, on)
    assert decision.switch == on
    assert "stays on" in decision.problems[0].message


def test_an_application_without_certificates_turns_tls_off_and_says_what_to_relate():
    on = Switch(True, CA_A)
    apps = [*_all("ready", CA_A)[:3], AppTls("contrail-agent", "off")]
    decision = decide(apps, on, "self-signed-certificates")
    assert decision.switch == OFF
    assert decision.problems == (
        ops.BlockedStatus(
            "TLS off: contrail-agent has no certificates "
            "(juju integrate contrail-agent:certificates self-signed-certificates)"
        ),
    )


def test_a_ca_mismatch_blocks_naming_both_subjects_and_never_flips_the_switch():
    apps = [*_all("ready", CA_A)[:2], *_all("ready", CA_B)[2:]]
    for previous in (OFF, Switch(True, CA_A)):
        decision = decide(apps, previous)
        assert decision.switch == previous
        (problem,) = decision.problems
        assert isinstance(problem, ops.BlockedStatus)
        assert "contrail-controller, contrail-analytics from 'CN=CA one'" in problem.message
        assert "contrail-analyticsdb, contrail-agent from 'CN=CA two'" in problem.message


def test_a_ca_rotation_moves_the_switch_once_every_application_holds_the_new_ca():
    decision = decide(_all("ready", CA_B), Switch(True, CA_A))
    assert decision.switch == Switch(True, CA_B)
    assert decision.switch.ca is not None and decision.switch.ca.subject == "CN=CA two"


def test_the_fields_round_trip_through_the_databag_models():
    switch = Switch(True, CA_A)
    assert Switch.from_fields(TlsSwitchFields.model_validate(switch.fields())) == switch
    assert Switch.from_fields(TlsSwitchFields()) == OFF
    assert Switch.from_fields(None) == OFF
    report = AppTls("contrail-agent", "ready", CA_A)
    fields = TlsReportFields.model_validate(report.fields())
    assert AppTls.from_fields("contrail-agent", fields) == report
    assert AppTls.from_fields("x", None) == AppTls("x", None)
    # ready without a CA is not ready
    assert AppTls.from_fields("x", TlsReportFields(tls_state="ready")).state == "pending"
    keys = TlsSwitchFields.model_validate(switch.fields()).model_dump(by_alias=True)
    assert set(keys) == {"ssl-enabled", "ca-fingerprint", "ca-subject"}
