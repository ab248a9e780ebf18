# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error translator: API statuses, TLS and network errors, worded for people."""

from __future__ import annotations

import json
import socket
import ssl

from ansible_collections.ephemeral.container_groups.plugins.plugin_utils._k8s.errors import (
    K8sApiError,
    K8sConnectionError,
    explain_api_exception,
    quota_exceeded,
)

TOKEN = "t0ken-SECRET-value"


def _status(message: str) -> str:
    return json.dumps({"kind": "Status", "status": "Failure", "message": message})


def test_forbidden_names_verb_resource_and_namespace():
    exc = K8sApiError(403, "Forbidden", _status('pods "p" is forbidden: User "system:serviceaccount:cg-test:cg" cannot create resource "pods/exec"'))
    message = explain_api_exception(exc, verb="create", resource="pods/exec", name="p", namespace="cg-test")
    assert "403" in message and "may not create pods/exec in namespace \"cg-test\"" in message
    assert "RBAC must grant 'get' and 'create' on 'pods/exec'" in message
    assert 'cannot create resource "pods/exec"' in message


def test_unauthorized_blames_the_token_without_showing_it():
    message = explain_api_exception(K8sApiError(401, "Unauthorized", _status("Unauthorized")), host="https://k8s")
    assert "401" in message and "token" in message and TOKEN not in message


def test_not_found_and_other_statuses():
    assert explain_api_exception(K8sApiError(404, "Not Found", _status('pods "p" not found')), resource="pods", name="p", namespace="n") == (
        'pods "p" not found in namespace "n" (404). The API server said: pods "p" not found'
    )
    message = explain_api_exception(K8sApiError(400, "Bad Request", _status("container x is not valid")), verb="create", resource="pods/exec", name="p")
    assert "refused to create pods/exec \"p\" (400 Bad Request)" in message and "container x is not valid" in message


def test_tls_and_network_errors_found_anywhere_in_the_chain():
    tls = ssl.SSLCertVerificationError(1, "certificate verify failed")
    tls.verify_message = "self-signed certificate in certificate chain"

    wrapped = K8sConnectionError("the handshake failed")
    wrapped.__cause__ = tls
    message = explain_api_exception(wrapped, host="https://k8s:6443")
    assert message.startswith("TLS verification of the API server certificate failed at https://k8s:6443")
    assert "self-signed certificate in certificate chain" in message and "ca_cert" in message

    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert "connection refused" in explain_api_exception(outer, host="https://k8s")
    assert "does not resolve" in explain_api_exception(socket.gaierror(-2, "Name or service not known"))
    assert "timed out" in explain_api_exception(socket.timeout("timed out"))


def _refused(message: str, code: int = 403) -> str:
    exc = K8sApiError(code, "Forbidden", json.dumps({"kind": "Status", "code": code, "message": message}))
    return explain_api_exception(exc, verb="create", resource="pods", name="cg-x", namespace="ns")


def test_a_pod_security_rejection_names_the_level_and_the_fields_to_set():
    said = _refused('pods "cg-x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
                    '(container "worker" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities '
                    '(container "worker" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or '
                    'container "worker" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "worker" '
                    'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    assert said.startswith('Pod Security admission refused the Pod "cg-x" in namespace "ns": the namespace enforces the '
                           '"restricted" level (restricted:latest). The pod spec override must set '
                           'securityContext.allowPrivilegeEscalation=false, securityContext.capabilities.drop=["ALL"], '
                           'securityContext.runAsNonRoot=true, securityContext.seccompProfile.type=RuntimeDefault. '
                           'The API server said: pods "cg-x" is forbidden: violates PodSecurity')
    assert "RBAC" not in said


def test_a_webhook_denial_names_the_webhook():
    said = _refused('admission webhook "images.example.com" denied the request: images must come from registry.example.com', 400)
    assert said.startswith('the admission webhook "images.example.com" denied the Pod "cg-x" in namespace "ns": images must '
                           "come from registry.example.com; meet its policy")


def test_an_exceeded_quota_is_told_as_such():
    said = _refused('pods "cg-x" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1')
    assert said.startswith('the Pod "cg-x" does not fit in ResourceQuota "one-pod" in namespace "ns" (requested: pods=1, '
                           "used: pods=1, limited: pods=1); wait for room")
    assert quota_exceeded(K8sApiError(403, "Forbidden", json.dumps({"message": "exceeded quota: q, requested: cpu=1"}))) \
        == 'ResourceQuota "q" (requested: cpu=1)'
    assert quota_exceeded(K8sApiError(403, "Forbidden", json.dumps({"message": 'cannot create resource "pods"'}))) is None


def test_an_rbac_denial_keeps_its_words():
    said = _refused('pods is forbidden: User "x" cannot create resource "pods" in API group "" in the namespace "ns"')
    assert said.startswith("permission denied (403 Forbidden): the credentials may not create pods in namespace \"ns\"")


def test_without_a_name_the_callers_message_names_the_object():
    exc = K8sApiError(403, "Forbidden", _status('pods "cg-x" is forbidden: violates PodSecurity "baseline:latest": privileged'))
    said = explain_api_exception(exc, verb="create", resource="pods", namespace="ns")
    assert said.startswith('Pod Security admission refused the Pod: the namespace enforces the "baseline" level')
