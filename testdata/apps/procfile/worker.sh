#!/bin/sh
# The worker process of the Procfile sample app: one line a second on stdout.
i=0
while :; do
	i=$((i + 1))
	echo "worker tick $i"
	sleep 1
done
