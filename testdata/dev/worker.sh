#!/bin/sh
# The worker of the nua dev sample app: its environment, then a tick a second.
echo "worker PORT=$PORT PS=$PS GREETING=$GREETING"
i=0
while :; do
	i=$((i + 1))
	echo "worker tick $i"
	sleep 1
done
