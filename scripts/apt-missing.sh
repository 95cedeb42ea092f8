# Sourced by setup.sh and test-deps.sh: installs the Debian packages named in
# the array `missing` (none: nothing), as root or through sudo.
# usage: apt_install_missing <who says it>
apt_install_missing() {
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "$1: installing ${missing[*]} with apt-get"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}
