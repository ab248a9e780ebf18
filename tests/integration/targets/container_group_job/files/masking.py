"""Secrets for the masking scenario, and the search for them afterwards.

masking.py make DIR   writes DIR/secrets-json.yml and DIR/secrets-yaml.yml (the job's secrets in
                      three forms: a multi-line job_env value, a become password with a quote
                      and a backslash, a secret_vars value; the target's results printed as
                      JSON or as YAML) and DIR/secrets.json (what to look for later)
masking.py check DIR FILE...   prints how often any secret appears in the files, in any form
                      (as it is, JSON-escaped, line by line, or any of its random parts); exit 1
                      if it does, or if the target did not get them (the HASHES line)
"""

import hashlib
import json
import secrets
import sys


def make(directory):
    pieces = [secrets.token_hex(12) for dummy in range(5)]
    key = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(pieces[:2]) + "\n-----END PRIVATE KEY-----\n"
    account = json.dumps({"type": "service_account", "project_id": f"proj-{pieces[2]}", "private_key": key,
                          "client_email": "job@example.iam.gserviceaccount.com"}, indent=2)
    become = f'pa"ss\\word-{pieces[3]}'
    token = f"tok'en\\{pieces[4]}"
    for result_format in ("json", "yaml"):
        values = {"job_env": {"CG_SERVICE_ACCOUNT": account, "ANSIBLE_CALLBACK_RESULT_FORMAT": result_format},
                  "become_password": become, "job_secret_vars": {"api_token": token}}
        with open(f"{directory}/secrets-{result_format}.yml", "w", encoding="utf-8") as handle:
            json.dump(values, handle)  # JSON is YAML
    with open(f"{directory}/secrets.json", "w", encoding="utf-8") as handle:
        json.dump({"values": [account, become, token], "pieces": pieces}, handle)


def _forms(value):
    forms = {value, json.dumps(value)[1:-1]}
    for line in value.splitlines():
        if "-----" not in line and len(line.strip()) > 8:
            forms.update((line.strip(), json.dumps(line.strip())[1:-1]))
    return forms


def check(directory, paths):
    with open(f"{directory}/secrets.json", encoding="utf-8") as handle:
        known = json.load(handle)
    forms = set(known["pieces"]).union(*(_forms(value) for value in known["values"]))
    hits = 0
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        for form in forms:
            if form in text:
                hits += text.count(form)
                print(f"{path}: a secret appears ({text.count(form)} times, {len(form)} characters)")
    account, become, token = known["values"]
    # Each hash on its own: YAML output folds the line that holds them.
    with open(paths[0], encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    arrived = all(hashlib.sha256(value.encode()).hexdigest() in text for value in (account + "\n", become, token))
    print(f"secret hits: {hits}; the target got every secret whole: {arrived}")
    return 0 if hits == 0 and arrived else 1


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2], sys.argv[3:]))
