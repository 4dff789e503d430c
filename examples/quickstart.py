"""Create a dataset, add samples with labels, edit one, and print the results.

Runs against the embedded mongod that labellens starts on first use (or the
server in LABELLENS_DATABASE_URI).
"""

import labellens as ll

dataset = ll.Dataset("quickstart", overwrite=True)
dataset.default_classes = ["cat", "dog"]
dataset.add_samples(
    ll.Sample(f"/data/{i}.png", tags=["train"], ground_truth=ll.Classification(label=["cat", "dog"][i % 2]))
    for i in range(10)
)
for sample in dataset.take(2, seed=51):
    sample.tags.append("mistake")
    sample.save()
print(dataset)
print(dataset.match_tags("mistake").sort_by("filepath"))
dataset.delete()
