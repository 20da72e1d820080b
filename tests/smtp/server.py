"""A real SMTP server for the tests (aiosmtpd), on 127.0.0.1.

Prints `LISTENING <port>` once it accepts connections, then one JSON line per message it
accepted: envelope, headers, and the plain-text and HTML parts as a mail client reads them.

  --port N          listen on N (default: any free port)
  --delay-data S    after reading a message, wait S seconds before answering 250: a hub
                    killed meanwhile has handed the message over without hearing back
  --refuse-first N  answer the first N messages with 451 (try again later)
"""

import argparse
import asyncio
import email
import email.policy
import json
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, delay, refuse):
        self.delay = delay
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        # Line ends as a mail client shows them (the wire has CRLF).
        def content(part):
            return part.get_content().replace("\r\n", "\n") if part is not None else None

        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k.lower(): str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "text": content(text),
            "html": content(html),
        }
        print(json.dumps(record), flush=True)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 Message accepted for delivery"


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay-data", type=float, default=0)
    p.add_argument("--refuse-first", type=int, default=0)
    args = p.parse_args()
    handler = Handler(args.delay_data, args.refuse_first)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp.test", enable_SMTPUTF8=True),
        "127.0.0.1",
        args.port,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
