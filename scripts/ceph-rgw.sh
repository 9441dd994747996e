#!/bin/sh
# A throwaway S3 server for tests and benchmarks: Ceph's RADOS Gateway from Debian's packages.
#   ceph-rgw.sh install           install the packages if missing (root, apt-get)
#   ceph-rgw.sh start DIR PORT    one mon, one in-memory OSD and radosgw on 127.0.0.1:PORT;
#                                 prints S3_ENDPOINT=, S3_ACCESS_KEY_ID=, S3_SECRET_ACCESS_KEY=
#   ceph-rgw.sh stop DIR          stop what `start DIR` started, by its pid files
# Objects live in RAM (memstore) and are gone at stop. Nothing here is fit for real data.
set -eu

PACKAGES="ceph-mon ceph-osd radosgw ceph-common"

die() { echo "ceph-rgw: $*" >&2; exit 1; }

install_packages() {
    missing=""
    for pkg in $PACKAGES; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "missing packages:$missing -- install them with: sudo apt-get install --no-install-recommends$missing"
    fi
    echo "installing:$missing" >&2
    # The packages would start system-wide daemons on install; the tests start their own.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        guard=/usr/sbin/policy-rc.d
    fi
    export DEBIAN_FRONTEND=noninteractive
    status=0
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; } || status=1
    [ -n "$guard" ] && rm -f "$guard"
    [ "$status" = 0 ] || die "apt-get could not install:$missing"
}

# A free TCP port on 127.0.0.1 in [low, high), other than those given after the range.
free_port() {
    python3 - "$@" <<'EOF'
import socket, sys, random
low, high, taken = int(sys.argv[1]), int(sys.argv[2]), set(sys.argv[3:])
ports = list(range(low, high))
random.shuffle(ports)
for port in ports:
    if str(port) in taken:
        continue
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
else:
    sys.exit("no free port")
EOF
}

# Wait until "$@" succeeds, for at most $1 tenths of a second.
wait_for() {
    tries=$1; shift
    while ! "$@" >/dev/null 2>&1; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.1
    done
}

# Start "$@" in its own session in the background, its pid in $pidfile, its output in $log.
launch() {
    pidfile=$1; log=$2; shift 2
    setsid "$@" >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
}

start() {
    dir=$1; port=$2
    command -v radosgw >/dev/null 2>&1 || die "radosgw is not installed (run: $0 install)"
    [ -e "$dir/mon.pid" ] && die "$dir already holds a running cluster (stop it first)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    rm -rf "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$dir/monmap"
    mkdir -p "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$dir/log"
    mon_port=$(free_port 19000 19999 "$port")
    osd_low=$(free_port 19000 19990 "$port" "$mon_port")
    fsid=$(cat /proc/sys/kernel/random/uuid)
    conf="$dir/ceph.conf"
    # Each setting below was found through a failure; see the README's object storage section.
    cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms cluster mode = crc
ms service mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon warn on pool no redundancy = false
paxos propose interval = 0.05
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
keyring = $dir/keyring
ms bind port min = $osd_low
ms bind port max = $((osd_low + 9))
# No debug logging, as Ceph's tuning advice has for production: at the default 1/5 each
# daemon formats every level-5 line into its memory ring and writes level 1 (three lines per
# request in radosgw), about 2 ms of CPU per upload (two PUTs) between radosgw and the OSD.
# Errors (level 0 and below) are still written to the log files.
debug rgw = 0/0
debug rgw sync = 0/0
debug osd = 0/0
debug ms = 0/0
debug objecter = 0/0
debug objclass = 0/0
debug rados = 0/0
debug monc = 0/0
debug mon = 0/0
debug paxos = 0/0
debug auth = 0/0
debug optracker = 0/0
debug memdb = 0/0
debug throttle = 0/0
debug finisher = 0/0
debug heartbeatmap = 0/0
debug perfcounter = 0/0
debug asok = 0/0
debug crypto = 0/0
debug none = 0/0
debug context = 0/0
debug buffer = 0/0
debug timer = 0/0
debug tp = 0/0
[mon.a]
mon data = $dir/mon
mon addr = v2:127.0.0.1:$mon_port
[osd.0]
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = 2147483648
# One op queue shard and one thread, no op tracker: with one OSD and a few clients there is
# nothing to spread, and each op handed between 2x2 queue threads cost two wake-ups (29
# context switches per upload against 16); the tracker's history thread and per-op events
# are for debugging slow ops. Tuned like Ceph's performance advice for a throwaway gateway:
# a real deployment's gateway is sized by its operator.
osd op num shards = 1
osd op num threads per shard = 1
osd enable op tracker = false
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port tcp_nodelay=1
rgw data = $dir/rgw
rgw dns name = 127.0.0.1
# Threads sized to the machine, not the default 512: beast's requests are coroutines that wait
# on the OSD without holding a thread, and 512 threads waking in turn cost radosgw about a
# fifth of its CPU per PUT on two cores; 2 rather than 8 halves radosgw's context switches
# (43 to 20 per upload), the idle threads each woke in turn for every reply.
rgw thread pool size = 2
EOF
    c="--conf=$conf"
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
    ceph-mon $c -i a --mkfs --monmap "$dir/monmap" >"$dir/log/mkfs-mon.out" 2>&1 \
        || die "ceph-mon --mkfs failed: $(tail -3 "$dir/log/mkfs-mon.out")"
    launch "$dir/mon.pid" "$dir/log/mon.out" ceph-mon $c -i a -f
    wait_for 100 ceph $c --connect-timeout 2 mon stat || die "the mon did not start ($dir/log)"

    osd_id=$(ceph $c osd create)
    [ "$osd_id" = 0 ] || die "unexpected osd id $osd_id"
    ceph-osd $c -i 0 --mkfs >"$dir/log/mkfs-osd.out" 2>&1 \
        || die "ceph-osd --mkfs failed: $(tail -3 "$dir/log/mkfs-osd.out")"
    ceph $c osd crush add osd.0 1.0 host=localhost root=default >/dev/null 2>&1 || true
    # The OSD runs on tcmalloc, as Ceph's own builds do (its allocator of choice); Debian's are
    # linked to glibc's malloc. About 0.2 ms less of the OSD's CPU per upload (its six ops),
    # from libgoogle-perftools4, which radosgw's package depends on; radosgw itself measured
    # slower on it, so it keeps glibc's.
    tcmalloc=$(ls /usr/lib/*/libtcmalloc.so.4 2>/dev/null | head -n 1)
    launch "$dir/osd.pid" "$dir/log/osd.out" env ${tcmalloc:+LD_PRELOAD=$tcmalloc} ceph-osd $c -i 0 -f
    wait_for 200 sh -c "ceph $c osd stat | grep -q '1 up'" || die "the OSD did not come up ($dir/log)"

    # Creating radosgw's pools now spares the first requests the wait for each lazy creation.
    [ -n "${CEPH_RGW_LAZY_POOLS:-}" ] || for pool in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
        default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
        ceph $c osd pool create "$pool" 8 8 >/dev/null 2>&1
    done

    launch "$dir/rgw.pid" "$dir/log/rgw.out" radosgw $c -n client.rgw -f
    wait_for 300 curl -sf -o /dev/null "http://127.0.0.1:$port/" \
        || die "radosgw did not answer on port $port ($dir/log)"
    keys=$(radosgw-admin $c user create --uid=imagehost --display-name=imagehost 2>/dev/null) \
        || die "radosgw-admin could not create the S3 user"
    echo "$keys" | python3 -c '
import json, sys
key = json.load(sys.stdin)["keys"][0]
print("S3_ACCESS_KEY_ID=" + key["access_key"])
print("S3_SECRET_ACCESS_KEY=" + key["secret_key"])' >"$dir/keys.env"
    echo "S3_ENDPOINT=http://127.0.0.1:$port"
    cat "$dir/keys.env"
}

# Stop one daemon by its pid file: TERM, then KILL after 10 s.
stop_one() {
    pidfile=$1
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -TERM "$pid" 2>/dev/null; then
        wait_for 100 sh -c "! kill -0 $pid" || { kill -KILL "$pid" 2>/dev/null || true; }
    fi
    rm -f "$pidfile"
}

stop() {
    dir=$1
    # One at a time, gateway first: stopping radosgw and the OSD together can hang radosgw.
    stop_one "$dir/rgw.pid"
    stop_one "$dir/osd.pid"
    stop_one "$dir/mon.pid"
}

case "${1:-}" in
    install) install_packages ;;
    start) [ $# = 3 ] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
    stop) [ $# = 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
    *) die "usage: $0 install | start DIR PORT | stop DIR" ;;
esac
