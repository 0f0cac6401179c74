-- Issue 14.4: owner sign-up invitations are made, listed and revoked through
-- the broker by security officers (signup.manage, audited as the person), so
-- that production needs no operator database credential for them. The broker
-- may now insert an invitation and set revoked_at (on an expired one when the
-- address is invited again, or on revocation); nothing else changes.
GRANT INSERT ON wact.signup_invitations TO wact_broker;
GRANT UPDATE (revoked_at) ON wact.signup_invitations TO wact_broker;
