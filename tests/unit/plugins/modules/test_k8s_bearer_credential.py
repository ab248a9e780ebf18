# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64

import pytest

from ansible_collections.ephemeral.container_groups.plugins.modules import container_group, k8s_bearer_credential
from ansible_collections.ephemeral.container_groups.plugins.modules.k8s_bearer_credential import check_ca_cert, check_host

TOKEN = "eyJhbGciOiJSUzI1NiJ9.unit-test-token-4f2a9c"
OTHER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.unit-test-token-rotated-77d1"

# A self-signed test certificate (its key was thrown away).
CA_CERT = """-----BEGIN CERTIFICATE-----
MIIBnTCCAUOgAwIBAgIUdwwbHhpcAiob7fsDFrc1DBWKZJ4wCgYIKoZIzj0EAwIw
IzEhMB8GA1UEAwwYY29udGFpbmVyLWdyb3Vwcy10ZXN0LWNhMCAXDTI2MTEyNjEy
MTkzMFoYDzIxMjYxMTAyMTIxOTMwWjAjMSEwHwYDVQQDDBhjb250YWluZXItZ3Jv
dXBzLXRlc3QtY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATClmxpq1yPvDHp
cU07DRZSSSYJYEXuhLT1rI2GPk4wEwz1mCVuZStS2KjrnZlN8tcCkAv8G9DAZDwx
vkqff9voo1MwUTAdBgNVHQ4EFgQUJJSTzvddEYcIzx4O4JFnuPBy4twwHwYDVR0j
BBgwFoAUJJSTzvddEYcIzx4O4JFnuPBy4twwDwYDVR0TAQH/BAUwAwEB/zAKBggq
hkjOPQQDAgNIADBFAiBoZiYE8EKxnpRE3uCVMlvNqovbrwfuDuTqNuvcaAiDfgIh
AOFjU32h48qBnbJmsfWbMDhqF1+GEbsLMbNbYs7Jt3N1
-----END CERTIFICATE-----
"""


@pytest.mark.parametrize(
    "host",
    [
        "https://k8s.example.com:6443",
        "https://k8s.example.com",
        "HTTPS://K8S.example.com:443/",
        "https://192.0.2.10:6443",
        "https://[2001:db8::1]:6443",
        "https://rancher.example.com/k8s/clusters/c-abc12",
        "  https://localhost:6443  ",
    ],
)
def test_good_hosts(host):
    assert check_host(host) == host.strip()


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("http://k8s.example.com:6443", "must be an https URL (got http scheme)"),
        ("k8s.example.com:6443", "must be an https URL"),
        ("ftp://k8s.example.com", "must be an https URL"),
        ("", "is not a URL"),
        ("https://", "no valid server name"),
        ("https://:6443", "no valid server name"),
        ("https://bad_host!:6443", "no valid server name"),
        ("https://k8s example.com", "is not a URL"),
        ("https://k8s.example.com:99999", "not a valid URL"),
        ("https://k8s.example.com:port", "not a valid URL"),
        ("https://k8s.example.com:0", "port 0"),
        ("https://user:pw@k8s.example.com", "must not hold a user name or password"),
        ("https://k8s.example.com/?x=1", "query or fragment"),
        ("https://k8s.example.com/#frag", "query or fragment"),
        ("https://[2001:db8::1:6443", "not a valid URL"),
    ],
)
def test_bad_hosts(host, message):
    with pytest.raises(ValueError) as exc:
        check_host(host)
    assert message in str(exc.value)


def test_good_ca_certs():
    assert check_ca_cert(CA_CERT) == CA_CERT
    assert check_ca_cert("\n\n" + CA_CERT.strip() + "  \n") == CA_CERT
    bundle = "# Issuer: test CA\n" + CA_CERT + "\n" + CA_CERT
    assert check_ca_cert(bundle) == bundle.strip() + "\n"


def _pem(kind: str, der: bytes) -> str:
    return f"-----BEGIN {kind}-----\n{base64.b64encode(der).decode()}\n-----END {kind}-----\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("not a certificate", "no -----BEGIN CERTIFICATE----- block"),
        ("/etc/ssl/certs/ca.pem", "looks like a path"),
        (_pem("PRIVATE KEY", b"\x30\x03\x02\x01\x00"), "is a 'PRIVATE KEY', not a CERTIFICATE"),
        (CA_CERT + _pem("RSA PRIVATE KEY", b"\x30\x00"), "block 2 is a 'RSA PRIVATE KEY'"),
        ("-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----", "not valid base64"),
        (_pem("CERTIFICATE", b"hello world"), "does not decode to a DER certificate"),
        (_pem("CERTIFICATE", b"\x30\x05\x02\x01"), "does not decode to a DER certificate"),
        (CA_CERT.replace("-----END CERTIFICATE-----", ""), "no -----BEGIN CERTIFICATE----- block"),
        (CA_CERT + "-----BEGIN CERTIFICATE-----\nAAAA\n", "BEGIN line without its END line"),
    ],
)
def test_bad_ca_certs(text, message):
    with pytest.raises(ValueError) as exc:
        check_ca_cert(text)
    assert message in str(exc.value)


def base_args(tmp_path, **extra):
    args = {"name": "prod", "host": "https://k8s.example.com:6443", "bearer_token": TOKEN, "state_file": str(tmp_path / "s.yml")}
    args.update(extra)
    return args


def test_create_then_idempotent(run_module, tmp_path):
    first = run_module(k8s_bearer_credential, base_args(tmp_path, ssl_ca_cert=CA_CERT))
    assert first.result["changed"] is True
    assert first.result["credential"] == {
        "name": "prod",
        "host": "https://k8s.example.com:6443",
        "verify_ssl": True,
        "has_bearer_token": True,
        "bearer_token_file": None,
        "in_cluster": False,
        "has_ssl_ca_cert": True,
        "container_groups": [],
    }
    second = run_module(k8s_bearer_credential, base_args(tmp_path, ssl_ca_cert=CA_CERT))
    assert second.result["changed"] is False
    assert TOKEN not in first.output + second.output
    assert TOKEN in (tmp_path / "s.yml").read_text()


def test_check_mode_changes_nothing(run_module, tmp_path):
    run = run_module(k8s_bearer_credential, base_args(tmp_path), check_mode=True, diff=True)
    assert run.result["changed"] is True
    assert run.result["diff"]["after"]["credentials"]["prod"]["bearer_token"] == "********"
    assert not (tmp_path / "s.yml").exists()


def test_diff_masks_old_and_new_token(run_module, tmp_path):
    run_module(k8s_bearer_credential, base_args(tmp_path, ssl_ca_cert=CA_CERT))
    run = run_module(k8s_bearer_credential, base_args(tmp_path, bearer_token=OTHER_TOKEN, ssl_ca_cert=CA_CERT), diff=True)
    assert run.result["changed"] is True
    diff = run.result["diff"]
    assert diff["before"]["credentials"]["prod"]["bearer_token"] == "********"
    assert diff["after"]["credentials"]["prod"]["bearer_token"] == "******** (changed)"
    assert diff["after"]["credentials"]["prod"]["ssl_ca_cert"] == "********"
    for secret in (TOKEN, OTHER_TOKEN, "MIIBnTCCAUOgAwIBAgIU"):
        assert secret not in run.output


def test_bad_token_is_refused_without_echoing_it(run_module, tmp_path):
    run = run_module(k8s_bearer_credential, base_args(tmp_path, bearer_token="two words-secretpart"))
    assert run.result["failed"] and "without whitespace" in run.result["msg"]
    assert "secretpart" not in run.output
    assert not (tmp_path / "s.yml").exists()


def test_absent_in_use_fails_then_force_detaches(run_module, tmp_path):
    state_file = str(tmp_path / "s.yml")
    run_module(k8s_bearer_credential, base_args(tmp_path))
    for group in ("b-group", "a-group"):
        assert run_module(container_group, {"name": group, "credential": "prod", "state_file": state_file}).result["changed"]
    refused = run_module(k8s_bearer_credential, {"name": "prod", "state": "absent", "state_file": state_file})
    assert refused.result["failed"]
    assert "a-group, b-group" in refused.result["msg"] and "force" in refused.result["msg"]
    assert refused.result["container_groups"] == ["a-group", "b-group"]

    forced = run_module(k8s_bearer_credential, {"name": "prod", "state": "absent", "force": True, "state_file": state_file}, diff=True)
    assert forced.result["changed"] and forced.result["detached_container_groups"] == ["a-group", "b-group"]
    assert forced.result["credential"] == {}
    assert forced.result["diff"]["after"]["container_groups"]["a-group"]["credential"] is None
    assert TOKEN not in forced.output
    group = run_module(container_group, {"name": "a-group", "state_file": state_file})
    assert group.result["changed"] is False and group.result["container_group"]["kubernetes"] is False

    again = run_module(k8s_bearer_credential, {"name": "prod", "state": "absent", "state_file": state_file})
    assert again.result["changed"] is False


def test_env_state_file_is_used(run_module, tmp_path):
    args = base_args(tmp_path)
    del args["state_file"]
    run = run_module(k8s_bearer_credential, args)
    assert run.result["state_file"] == str(tmp_path / "default-state" / "state.yml")


def test_a_token_file_is_stored_by_path_and_never_its_token(run_module, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    args = base_args(tmp_path, bearer_token_file=str(token_file))
    del args["bearer_token"]
    first = run_module(k8s_bearer_credential, args)
    assert first.result["changed"] is True
    view = first.result["credential"]
    assert view["bearer_token_file"] == str(token_file) and view["has_bearer_token"] is False
    assert TOKEN not in (tmp_path / "s.yml").read_text()
    assert str(token_file) in (tmp_path / "s.yml").read_text()
    assert run_module(k8s_bearer_credential, args).result["changed"] is False


def test_a_token_file_that_cannot_be_read_is_refused(run_module, tmp_path):
    args = base_args(tmp_path, bearer_token_file=str(tmp_path / "nope"))
    del args["bearer_token"]
    failed = run_module(k8s_bearer_credential, args)
    assert failed.result["failed"] is True
    assert "bearer_token_file" in failed.result["msg"] and "cannot be read" in failed.result["msg"]


def test_in_cluster_stores_no_host_and_no_secret(run_module, tmp_path):
    created = run_module(k8s_bearer_credential, {"name": "here", "in_cluster": True, "state_file": str(tmp_path / "s.yml")})
    assert created.result["credential"]["in_cluster"] is True and created.result["credential"]["host"] is None
    both = run_module(k8s_bearer_credential, base_args(tmp_path, in_cluster=True))
    assert both.result["failed"] is True and "mutually exclusive" in both.result["msg"]


def test_present_needs_a_host_and_a_token_source(run_module, tmp_path):
    failed = run_module(k8s_bearer_credential, {"name": "x", "host": "https://k", "state_file": str(tmp_path / "s.yml")})
    assert failed.result["failed"] is True
    assert failed.result["msg"] == "state is present but missing: bearer_token or bearer_token_file (or set in_cluster=true)"
