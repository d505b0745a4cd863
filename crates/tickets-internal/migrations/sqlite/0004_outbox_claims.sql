-- Fenced claims (see src/outbox/claims.rs): a claim carries a token, and every outcome write is
-- conditional on it, so a worker whose lease ran out can never record over the new holder.
-- Never edited once shipped.

ALTER TABLE outbox ADD COLUMN claim_token TEXT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
