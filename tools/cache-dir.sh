# shellcheck shell=bash
# The one definition of where the project's caches live (binaries, images, venvs, collection
# trees): outside the repo, so a clean clone on a warm machine reuses them. Sourced, not run;
# sets and exports CG_CACHE_DIR, keeping a value the environment already gives it.
CG_CACHE_DIR=${CG_CACHE_DIR:-$HOME/.cache/ephemeral-container-groups}
export CG_CACHE_DIR
