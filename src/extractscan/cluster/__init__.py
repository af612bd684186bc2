"""The cluster stage: text normalisation and template skeletons (:mod:`.normalize`), vectorised MinHash with
LSH banding and exact-Jaccard confirmation (:mod:`.minhash`), and budgeted, cached sentence embeddings
(:mod:`.embed`). See docs/clustering.md.

Every function here works on whole batches (polars expressions, numpy arrays): none loops in Python over the
requests of a scan. The embedding step is the exception by nature, and it only sees the budgeted sample.
"""
