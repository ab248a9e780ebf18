"""check_facts.py ARTIFACTS_DIR RESULT_JSON HOST...: ansible-runner's Runner.get_fact_cache(HOST)
on the job's record gives each host's facts (with its hostname); exit 1 saying which not."""

import json
import sys
import tempfile

from ansible_runner.config.runner import RunnerConfig
from ansible_runner.runner import Runner


def main(artifacts_dir, result_file, hosts):
    with open(result_file, encoding="utf-8") as handle:
        job_id = json.load(handle)["job_id"]
    missing = []
    with tempfile.TemporaryDirectory() as private_data_dir:
        runner = Runner(RunnerConfig(private_data_dir=private_data_dir, artifact_dir=artifacts_dir, ident=job_id))
        for host in hosts:
            facts = runner.get_fact_cache(host)
            if not any("hostname" in str(key) for key in facts):
                missing.append(f"{host}: {sorted(facts)[:10]}")
    for problem in missing:
        print(f"facts: no hostname among the cached facts of {problem}")
    print(f"facts: {len(hosts) - len(missing)} of {len(hosts)} hosts have their facts in the record")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
