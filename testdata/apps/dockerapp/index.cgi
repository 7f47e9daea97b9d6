#!/bin/sh
# GET / of the Dockerfile sample app: busybox httpd runs it for "/".
printf 'Content-Type: text/plain\r\n\r\nhello from dockerapp %s\n' "${GREETING:-world}"
