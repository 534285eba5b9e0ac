"""The rehearsal as an operator runs it: bad input is one line and exit 2, good input is typed as
`juju config` types it, and the simulated machines look like Juju machines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import rehearse
import yaml
from front_end import RehearsalError, charms_of, config_value, load_bundle, release_of
from model import Model

REPO = Path(__file__).resolve().parents[2]
STANDARD = REPO / "bundles" / "k8s-contrail.yaml"
OVERLAYS = REPO / "bundles" / "overlays"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = rehearse.main([str(STANDARD), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--overlay", "bundles/overlays/nope.yaml"], "no such overlay file"),
        (["--config", "contrail-agnet.dpdk=true"], "no application contrail-agnet"),
        (["--config", "contrail-agent.dpkd=true"], "contrail-agent has no option 'dpkd'"),
        (["--config", "contrail-agent.dpdk"], "is not APP.OPTION=VALUE"),
        (["--config", "contrail-agent.dpdk=maybe"], "'maybe' is not true or false"),
        (["--config", "contrail-controller.min-cluster-size=three"], "is not an integer"),
        (["--config", "contrail-agent.registry-credentials=hunter2"], "takes a secret URI"),
        (["--secret", "contrail-kubernetes-master.nested_keystone_password=s3cret"], "KEY=VALUE"),
        (["--secret", "contrail-kubernetes-mastr.nested_keystone_password=p=1"], "no application"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rehearse: ") and says in err


def test_a_missing_bundle_is_one_line(capsys):
    assert rehearse.main(["bundles/k8s-contrial.yaml"]) == 2
    assert "bundles/k8s-contrial.yaml: no such bundle file" in capsys.readouterr().err


def edited_bundle(tmp_path: Path, edit) -> Path:
    """The standard bundle with `edit` applied, kept beside the real one or copied away."""
    document = yaml.safe_load(STANDARD.read_text())
    edit(document)
    path = tmp_path / "bundle.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_bundle_copied_out_of_the_repository_says_where_the_charms_are(tmp_path):
    with pytest.raises(RehearsalError, match=r"is not found from .*rehearse a bundle inside"):
        charms_of(edited_bundle(tmp_path, lambda d: None), yaml.safe_load(STANDARD.read_text()))


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (
            lambda d: d["relations"].append(["contrail-agent:contrail-controlr", "x:y"]),
            "contrail-agent has no endpoint contrail-controlr",
        ),
        (lambda d: d["relations"].append(["contrail-agent", "ntp"]), "name the endpoint"),
        (
            lambda d: d["applications"]["contrail-agent"]["options"].update(dpkd=True),
            "contrail-agent has no option 'dpkd'",
        ),
    ],
)
def test_a_bundle_with_a_typo_is_refused_before_anything_runs(tmp_path, edit, says):
    bundle = REPO / "bundles" / f".rehearsal-test-{tmp_path.name}.yaml"
    try:  # beside the real bundles, so that its charm paths lead to the charms
        edited_bundle(tmp_path, edit).rename(bundle)
        with pytest.raises(RehearsalError, match=says):
            Model(bundle)
    finally:
        bundle.unlink(missing_ok=True)


def test_config_values_take_the_declared_type():
    charms = charms_of(STANDARD, load_bundle(STANDARD, []))
    assert config_value("contrail-agent", "dpdk", "true", charms) is True
    assert config_value("contrail-agent", "dpdk", "False", charms) is False
    assert config_value("contrail-controller", "min-cluster-size", "3", charms) == 3
    assert config_value("contrail-controller", "image-tag", "3", charms) == "3"
    assert config_value("kubernetes-control-plane", "service-cidr", "10.0.0.0/24", charms)


@pytest.mark.parametrize(
    ("overlay", "expected"),
    [
        (None, ("R24.1", "opensdn", "R24.1-latest")),
        ("r25.1.yaml", ("R25.1", "opensdn", "R25.1-latest")),
        ("r2011.yaml", ("R2011", "tungstenfabric", "R2011-latest")),
    ],
)
def test_each_bundle_and_overlay_names_its_line_registry_and_tag(overlay, expected):
    document = load_bundle(STANDARD, [OVERLAYS / overlay] if overlay else [])
    charms = charms_of(STANDARD, document)
    for app, spec in document["applications"].items():
        if charms[app].local_dir is None:
            continue
        defaults = {name: option.get("default") for name, option in charms[app].options.items()}
        assert release_of(spec.get("options") or {}, defaults) == expected, app


def test_a_run_prints_the_release_and_keeps_its_env_files(capsys):
    code, out, err = run(capsys, "--config", "contrail-controller.min-cluster-size=1")
    assert code == 0 and err == ""
    assert "contrail-controller         R24.1  opensdn   R24.1-latest" in out
    kept = out.split("kept until `rm -r ")[1].split("`")[0]
    assert Path(kept).is_dir()
    shutil.rmtree(kept)


def test_machines_have_juju_hostnames_in_one_model_and_dpdk_hosts_rehearse():
    model = Model(STANDARD, [OVERLAYS / "dpdk.yaml"])
    try:
        model.deploy()
        assert {n: s.name for n, s in model.statuses().items()} == {
            u.name: "active" for u in model.units
        }
        suffix = model.juju_model.uuid[-6:]
        hostnames = {m.hostname for m in model.machines.values()}
        assert len(hostnames) == len(model.machines)
        assert all(h.startswith(f"juju-{suffix}-") for h in hostnames)
        assert {model.state_of(u).model.uuid for u in model.units} == {model.juju_model.uuid}
        agents = [
            (u.machine, (u.machine.host.path("/etc/contrail") / u.name.replace("/", "-")))
            for u in model.apps["contrail-agent"].units
        ]
        for machine, folder in agents:
            env = (folder / "vrouter-agent.env").read_text()
            assert f"VROUTER_HOSTNAME={machine.fqdn}\n" in env
            assert "AGENT_MODE=dpdk\n" in env
    finally:
        model.close()


def test_kubernetes_charms_say_nothing_on_cni_until_their_kubeconfig_exists():
    model = Model(STANDARD, kubeconfigs=False)
    try:
        model.deploy()
        cni = [r.id for r in model.relations if any(s.endpoint == "cni" for s in r.sides)]
        stand_ins = {u.name for a in model.apps.values() if a.charm is None for u in a.units}
        assert not any(model.unit_bags.get((rid, name)) for rid in cni for name in stand_ins)
        master = model.statuses()["contrail-kubernetes-master/0"]
        assert master.name == "waiting" and "/root/.kube/config" in master.message

        model.create_kubeconfigs()
        model.update_status()
        assert {n: s.name for n, s in model.statuses().items()} == {
            n: "active" for n in model.statuses()
        }
        registries = {
            model.unit_bags[(rid, name)]["image-registry"]
            for rid in cni
            for name in stand_ins
            if model.unit_bags.get((rid, name))
        }
        assert registries == {"rocks.canonical.com:443/cdk"}
    finally:
        model.close()
