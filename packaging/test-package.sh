#!/usr/bin/env bash
# The package as an ops engineer meets it: install the .deb, run the
# installed credit-node, remove and purge; check the .rpm's file list.
# Needs root (CI is). systemd does not run here: the unit is not started.
set -euo pipefail
BUILD=${1:-build}
debs=("$BUILD"/credit-node*.deb) rpms=("$BUILD"/credit-node*.rpm)
DEB=${debs[0]} RPM=${rpms[0]}
fail() { echo "package-test: FAIL: $*"; exit 1; }
[ -e "$DEB" ] || fail "no credit-node*.deb in $BUILD (make package first)"
[ -e "$RPM" ] || fail "no credit-node*.rpm in $BUILD (make package first)"
# Outputs are captured before grep reads them: under pipefail, `cmd | grep -q`
# fails when grep stops at its match and cmd dies of SIGPIPE writing the rest.

echo "package-test: $DEB"
dpkg -i "$DEB" > /dev/null
[ -x /usr/sbin/credit-node ] || fail "/usr/sbin/credit-node is not installed"
grep -q 'static-pie linked' <<< "$(file -L /usr/sbin/credit-node)" || fail "the installed binary is not static-pie"
grep -q '^credit-node ' <<< "$(/usr/sbin/credit-node version)" || fail "credit-node version"
getent passwd credit-node > /dev/null || fail "no credit-node user"
[ "$(stat -c %a /var/lib/credit-node)" = 700 ] || fail "/var/lib/credit-node is not 0700"
[ "$(stat -c %U /var/lib/credit-node)" = credit-node ] || fail "/var/lib/credit-node is not the service user's"
grep -q '^ProtectSystem=strict' /lib/systemd/system/credit-node.service || fail "the unit is not hardened"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' /lib/systemd/system/credit-node.service || fail "the unit cannot be reloaded"
grep -q '^StartLimitBurst=' /lib/systemd/system/credit-node.service || fail "the unit restarts a failing node for ever"
grep -q 'systemctl disable --now credit-node' /var/lib/dpkg/info/credit-node.prerm || fail "no prerm stopping the node on removal"
[ -s /usr/share/doc/credit-node/config-keys.md ] || fail "the config keys' documentation is not installed"
grep -q /etc/credit-node/node.toml <<< "$(dpkg-query -W -f='${Conffiles}\n' credit-node)" || fail "node.toml is not a conffile"
# Root is refused on the service user's node (what it made there would be
# root's); the installed check, run as that user against the installed
# config, parses it and says what is missing (no certificate yet), exit 1.
set +e
out=$(/usr/sbin/credit-node check -c /etc/credit-node/node.toml 2>&1); rc=$?
set -e
[ $rc = 2 ] || fail "check as root exited $rc, expected 2 (refused): $out"
grep -q 'sudo -u credit-node' <<< "$out" || fail "check as root did not say to run it as credit-node: $out"
set +e
out=$(runuser -u credit-node -- /usr/sbin/credit-node check -c /etc/credit-node/node.toml 2>&1); rc=$?
set -e
[ $rc = 1 ] || fail "check exited $rc, expected 1 (no certificate yet): $out"
grep -q 'FAIL  tls.certificate' <<< "$out" || fail "check did not name the missing certificate: $out"
grep -q 'PASS  config' <<< "$out" || fail "the installed config does not parse: $out"
dpkg -r credit-node > /dev/null
[ ! -e /usr/sbin/credit-node ] || fail "dpkg -r left the binary"
[ -e /etc/credit-node/node.toml ] || fail "dpkg -r removed the conffile (only purge should)"
out=$(dpkg -P credit-node)
[ ! -e /etc/credit-node ] || fail "dpkg -P left /etc/credit-node"
getent passwd credit-node > /dev/null && fail "dpkg -P left the user"
# `check` made a store: purge keeps it and says so; a reinstall takes it
# over although its files belong to a user purge deleted.
[ -e /var/lib/credit-node/data.mdb ] || fail "dpkg -P removed the store"
grep -q 'the store in /var/lib/credit-node is kept' <<< "$out" || fail "dpkg -P did not say the store is kept: $out"
# The new user may get the old uid back: the kept files are given a uid
# no user has, as when it does not.
chown -R 4242:4242 /var/lib/credit-node
dpkg -i "$DEB" > /dev/null
[ "$(stat -c %U /var/lib/credit-node/data.mdb)" = credit-node ] || fail "a reinstall did not take over the kept store"
dpkg -P credit-node > /dev/null
rm -rf /var/lib/credit-node
echo "package-test: deb installs, runs, removes and purges cleanly; a reinstall takes over a kept store"

files=$(rpm -qlp "$RPM" 2> /dev/null)
for f in /usr/sbin/credit-node /lib/systemd/system/credit-node.service /etc/credit-node/node.toml; do
  grep -qx "$f" <<< "$files" || fail "the rpm lacks $f (it has: $(tr '\n' ' ' <<< "$files"))"
done
grep -qx /etc/credit-node/node.toml <<< "$(rpm -qp --configfiles "$RPM" 2> /dev/null)" || fail "node.toml is not %config in the rpm"
grep -q 'systemctl disable --now credit-node' <<< "$(rpm -qp --scripts "$RPM" 2> /dev/null)" || fail "the rpm does not stop the node on erase"
echo "package-test: rpm holds $(wc -l <<< "$files") files, node.toml as %config, stops the node on erase"
