"""Item generation (Study 2): a model drafts items in a test's style, and eitest checks them.

- :mod:`~eitest.generate.prompt`: the prompt of one call, with example items of the source;
- :mod:`~eitest.generate.reply`: the items of a reply, each checked by the source's rules;
- :mod:`~eitest.generate.novelty`: near-duplicates of the source's items and of each other;
- :mod:`~eitest.generate.drafting`: the bounded loop of calls, and the generated instrument.
"""
