#!/usr/bin/env bash
# contrib/run-demo.sh - what `make run` does after building: mount DATA at
# MNT in the foreground, seed a demo topic the first time, and unmount
# cleanly on Ctrl-C.
#   usage: contrib/run-demo.sh TOPICFS DATA MNT
set -u
bin=${1:?topicfs binary} data=${2:?data dir} mnt=${3:?mount point}
mkdir -p "$data" "$mnt"
if mountpoint -q "$mnt"; then
	echo "run-demo: $mnt is already mounted (fusermount3 -u $mnt)" >&2
	exit 1
fi
fresh=0
[ -z "$(ls -A "$data")" ] && fresh=1

"$bin" -f "$data" "$mnt" &
pid=$!
stop() {
	trap - INT TERM
	fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null
	wait "$pid"
	echo "run-demo: unmounted $mnt; the data stays in $data"
	exit 0
}
trap stop INT TERM

for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit $?; }
	sleep 0.1
done
if ! mountpoint -q "$mnt"; then
	echo "run-demo: $mnt did not mount" >&2
	kill "$pid"; wait "$pid"; exit 1
fi
if [ "$fresh" = 1 ]; then
	mkdir "$mnt/demo" && touch "$mnt/demo/0"
	for i in 1 2 3; do echo "{\"id\":$i,\"msg\":\"hello from topicfs\"}" >> "$mnt/demo/0"; done
fi
cat <<MSG
topicfs: $data is mounted at $mnt (Ctrl-C unmounts). In another terminal:
    ls -l $mnt/demo;  cat $mnt/demo/0;  echo '{"id":4}' >> $mnt/demo/0
    tail -s 0.1 -f $mnt/demo/0;  getfattr -d $mnt/demo/0
MSG
wait "$pid"
