"""An aiosmtpd handler for the tests: a Maildir, except that recipients whose address starts
with "reject" are refused with a permanent 550, as a real server refuses an unknown user."""

from aiosmtpd.handlers import Mailbox


class RejectingMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"
