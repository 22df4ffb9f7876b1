#!/usr/bin/env python3
"""Runs the CI recipes of docs/ci.md as a CI system would, for
tests/cli/test_ci_docs.sh.

  ci_recipe.py extract DOC NAME
      print the fenced block that follows '<!-- ci: NAME -->' in DOC
  ci_recipe.py github WORKFLOW JOB WORKSPACE STORE LOG
  ci_recipe.py gitlab PIPELINE JOB WORKSPACE STORE LOG
      run one job's shell steps in WORKSPACE, verbatim, and exit with the
      status of the first step that fails (0 when all pass)

What cannot run on a test machine is replaced: the checkout (the test fills
WORKSPACE), a step named 'Build' or the 'build' job (the test puts the
release files in dist/), the installation of csign (it is on PATH; the step
must still install the .deb) and the artifact upload and download, which
copy files into and out of STORE. Anything else unknown is an error, so a
recipe cannot grow a step the test silently skips.

Secrets and variables come from the environment: ${{ secrets.X }} and
${{ vars.X }} (GitHub) are CI_SECRET_X and CI_VAR_X; GitLab gets every
CI_SECRET_X and CI_VAR_X as X, as project CI/CD variables are. A step sees
only what its recipe gives it, not csign's settings of the test itself.
Everything the steps print goes to LOG.
"""
import os
import re
import shutil
import subprocess
import sys

import yaml

# Settings a step must get from its recipe, never from the test's own
# environment.
HIDDEN = {"CSIGN_PIN", "CSIGN_SO_PIN", "CSIGN_MODULE", "CSIGN_CONFIG", "CSIGN_PROFILE",
          "CSIGN_TOKEN_TIMEOUT", "P11_KIT_SERVER_ADDRESS"}
INSTALL_DEB = "apt-get install -y ./csign_*.deb"


def die(msg):
    sys.stderr.write("ci_recipe: %s\n" % msg)
    sys.exit(100)


def extract(doc, name):
    lines = open(doc, encoding="utf-8").read().split("\n")
    marker = "<!-- ci: %s -->" % name
    hits = [i for i, line in enumerate(lines) if line.strip() == marker]
    if len(hits) != 1:
        die("%s: %d markers '%s', expected 1" % (doc, len(hits), marker))
    i = hits[0] + 1
    if i >= len(lines) or not lines[i].startswith("```"):
        die("%s: '%s' is not followed by a fenced block" % (doc, marker))
    body = []
    for line in lines[i + 1:]:
        if line.startswith("```"):
            sys.stdout.write("\n".join(body) + "\n")
            return
        body.append(line)
    die("%s: the block after '%s' is not closed" % (doc, marker))


def base_env(extra):
    env = {k: v for k, v in os.environ.items()
           if k not in HIDDEN and not k.startswith(("CI_SECRET_", "CI_VAR_"))}
    env.update(extra)
    return env


def run_shell(argv, script, cwd, env, log):
    with open(script[0], "w", encoding="utf-8") as f:
        f.write(script[1])
    with open(log, "a", encoding="utf-8") as out:
        out.flush()
        return subprocess.run(argv + [script[0]], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.STDOUT).returncode


def copy_into(src, dst):
    """Copies the file SRC, or the contents of the folder SRC, into DST."""
    os.makedirs(dst, exist_ok=True)
    if os.path.isdir(src):
        shutil.copytree(src, dst, dirs_exist_ok=True, symlinks=True)
    else:
        shutil.copy2(src, dst)


# --- GitHub Actions -------------------------------------------------------

EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def gh_value(value):
    def sub(m):
        expr = m.group(1)
        kind, _, name = expr.partition(".")
        if kind == "secrets":
            key = "CI_SECRET_" + name
        elif kind == "vars":
            key = "CI_VAR_" + name
        else:
            die("unsupported expression ${{ %s }}" % expr)
        return os.environ.get(key, "")
    return EXPR.sub(sub, str(value))


def github(path, job_name, ws, store, log):
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    job = doc["jobs"][job_name]
    env = base_env({
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws,
        "GITHUB_REF": "refs/tags/v1.0.0", "GITHUB_REF_NAME": "v1.0.0",
        "GITHUB_REPOSITORY": "example/app", "GITHUB_RUN_ID": "4242",
        "GITHUB_JOB": job_name, "GITHUB_SHA": "0" * 40,
    })
    for k, v in {**doc.get("env", {}), **job.get("env", {})}.items():
        env[k] = gh_value(v)
    for n, step in enumerate(job["steps"]):
        uses = step.get("uses", "")
        name = step.get("name", uses)
        with_ = step.get("with", {})
        if uses.startswith("actions/checkout@"):
            continue
        if uses.startswith("actions/upload-artifact@"):
            copy_into(os.path.join(ws, with_["path"]), os.path.join(store, with_["name"]))
            continue
        if uses.startswith("actions/download-artifact@"):
            copy_into(os.path.join(store, with_["name"]), os.path.join(ws, with_["path"]))
            continue
        if uses:
            die("step '%s' uses %s, which the test cannot run" % (name, uses))
        body = step["run"]
        if "${{" in body:
            die("step '%s' pastes ${{ }} into its script; pass it through env:" % name)
        if name == "Build":
            continue
        if name == "Install csign":
            if INSTALL_DEB not in body:
                die("step 'Install csign' does not run '%s'" % INSTALL_DEB)
            continue
        step_env = dict(env)
        for k, v in step.get("env", {}).items():
            step_env[k] = gh_value(v)
        cwd = os.path.join(ws, step.get("working-directory", "."))
        # What GitHub runs for 'shell: bash', the default on Linux runners.
        rc = run_shell(["bash", "--noprofile", "--norc", "-eo", "pipefail"],
                       (os.path.join(store, "..", "gh-step-%d.sh" % n), body), cwd, step_env, log)
        if rc != 0:
            with open(log, "a", encoding="utf-8") as out:
                out.write("step '%s' failed with %d\n" % (name, rc))
            return rc
    return 0


# --- GitLab CI ------------------------------------------------------------

VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def gl_expand(value, env):
    return VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), str(value))


def lines_of(x):
    return [x] if isinstance(x, str) else list(x or [])


def gitlab(path, job_name, ws, store, log):
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    job = doc[job_name]
    env = base_env({
        "CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": ws, "CI_COMMIT_TAG": "v1.0.0",
        "CI_COMMIT_REF_NAME": "v1.0.0", "CI_JOB_ID": "4242", "CI_JOB_NAME": job_name,
        "CI_PIPELINE_ID": "77", "CI_PROJECT_PATH": "example/app",
    })
    for k, v in os.environ.items():
        for prefix in ("CI_SECRET_", "CI_VAR_"):
            if k.startswith(prefix):
                env[k[len(prefix):]] = v
    for k, v in {**doc.get("variables", {}), **job.get("variables", {})}.items():
        env[k] = gl_expand(v, env)
    # Artifacts of the jobs this one needs (or of every earlier stage).
    stages = doc.get("stages", [])
    needs = job.get("needs")
    if needs is None:
        needs = [j for j, d in doc.items()
                 if isinstance(d, dict) and "stage" in d and
                 stages.index(d["stage"]) < stages.index(job["stage"])]
    for need in needs:
        src = os.path.join(store, need)
        if os.path.isdir(src):
            copy_into(src, ws)
    before = "\n".join(lines_of(job.get("before_script")))
    if INSTALL_DEB not in before:
        die("job '%s': before_script does not run '%s'" % (job_name, INSTALL_DEB))
    # The runner runs before_script and script as one bash script with -eo pipefail.
    body = "\n".join(lines_of(job["script"])) + "\n"
    rc = run_shell(["bash", "--noprofile", "--norc", "-eo", "pipefail"],
                   (os.path.join(store, "..", "gl-%s.sh" % job_name), body), ws, env, log)
    artifacts = job.get("artifacts", {})
    if rc == 0 or artifacts.get("when") in ("always", "on_failure"):
        for p in artifacts.get("paths", []):
            src = os.path.join(ws, p)
            if os.path.exists(src):
                dst = os.path.join(store, job_name, p.rstrip("/"))
                if os.path.isdir(src):
                    copy_into(src, dst)
                else:
                    copy_into(src, os.path.dirname(dst))
    return rc


def main(argv):
    if len(argv) == 3 and argv[0] == "extract":
        extract(argv[1], argv[2])
        return 0
    if len(argv) == 6 and argv[0] in ("github", "gitlab"):
        _, path, job, ws, store, log = argv
        ws, store, log = os.path.abspath(ws), os.path.abspath(store), os.path.abspath(log)
        os.makedirs(store, exist_ok=True)
        return (github if argv[0] == "github" else gitlab)(path, job, ws, store, log)
    die("usage: see the comment at the top")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
