"""Counting: tokens and cost, exactly as each destination counts them.

``tokens`` counts with tiktoken and the BPE files of ``bpe_files`` (never downloaded),
``open_tokenizers`` with an open base model's own tokenizer and chat template;
``image_tokens`` counts images, ``reserved_tokens`` finds control tokens hidden in text,
``cost`` turns tokens into a price.  Large inputs are counted on a second core
(``token_worker``, ``open_token_worker``), through ``worker_process``, which the
personal-data scan uses too.
"""
