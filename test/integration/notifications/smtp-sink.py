"""A real SMTP peer for the SMTP transport's tests: Python's stdlib smtpd (RFC 5321 over asyncore),
with AUTH PLAIN added (RFC 4954) so authenticated delivery is exercised too.

Usage: python3 -W ignore smtp-sink.py USER PASSWORD
Prints "PORT <n>" once listening on 127.0.0.1, then one JSON line per accepted message:
{"mailfrom", "rcpttos", "data", "auth"}. Exits when stdin closes (the test process ended).
"""
import asyncore
import base64
import json
import os
import smtpd
import sys
import threading

USER, PASSWORD = sys.argv[1], sys.argv[2]


class AuthChannel(smtpd.SMTPChannel):
    authenticated_as = None

    def smtp_EHLO(self, arg):
        # The stdlib EHLO, with AUTH PLAIN advertised before its closing "250 HELP".
        real_push = self.push

        def push(line):
            if line == '250 HELP':
                real_push('250-AUTH PLAIN')
            real_push(line)

        self.push = push
        try:
            super().smtp_EHLO(arg)
        finally:
            self.push = real_push

    def smtp_AUTH(self, arg):
        parts = (arg or '').split()
        if len(parts) != 2 or parts[0].upper() != 'PLAIN':
            self.push('504 5.5.4 Only AUTH PLAIN with an initial response')
            return
        try:
            _, user, password = base64.b64decode(parts[1]).decode('utf-8').split('\0')
        except Exception:
            self.push('501 5.5.2 Cannot decode the response')
            return
        if user == USER and password == PASSWORD:
            self.authenticated_as = user
            self.push('235 2.7.0 Authentication successful')
        else:
            self.push('535 5.7.8 Authentication credentials invalid')

    def smtp_MAIL(self, arg):
        if self.authenticated_as is None:
            self.push('530 5.7.0 Authentication required')
            return
        super().smtp_MAIL(arg)


class Sink(smtpd.SMTPServer):
    channel_class = AuthChannel

    # Connections are handled one at a time by the tests, so the latest channel is the sender's.
    def handle_accepted(self, conn, addr):
        self.current = AuthChannel(self, conn, addr, self.data_size_limit, self._map, self.enable_SMTPUTF8, self._decode_data)

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        print(json.dumps({'mailfrom': mailfrom, 'rcpttos': rcpttos, 'data': data, 'auth': self.current.authenticated_as}), flush=True)


server = Sink(('127.0.0.1', 0), None, decode_data=True)
print('PORT %d' % server.socket.getsockname()[1], flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
try:
    asyncore.loop(timeout=0.2)
except KeyboardInterrupt:
    pass
