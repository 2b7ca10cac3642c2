"""GA4GH-standard partner delivery: Crypt4GH encryption for a partner's registered key
(:mod:`genomics.drs.crypt`), signed manifests (:mod:`genomics.drs.signing`), the partner book and the
per-object delivery state in the ledger (:mod:`genomics.drs.partners`) and the read-only DRS 1.x routes
(:mod:`genomics.drs.api`). See docs/partners.md.

``crypt4gh`` (and ``cryptography``) are imported only where encryption or local signing happens: the
operator side (``genomics deliver``), never the handler image, which serves DRS with boto3 alone.
"""
