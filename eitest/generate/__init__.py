"""Item generation (Study 2): a model drafts items in a test's style (:mod:`~eitest.generate.drafting`),
and eitest checks them for near-duplicates of the source (:mod:`~eitest.generate.novelty`)."""
