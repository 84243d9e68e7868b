"""The HTML report shipped in every .dlpk: leaderboard chart, loss/metric curves of the chosen model, and its
predictions on validation chips next to the truth. Self-contained (images inline), no network access needed."""
from __future__ import annotations

import base64
import html
import io

import numpy as np
import torch


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _display_rgb(image: torch.Tensor) -> np.ndarray:
    """First three bands (or the one band as grey), stretched 2-98 percent for display."""
    array = image[:3].float().numpy() if image.shape[0] >= 3 else image[:1].repeat(3, 1, 1).float().numpy()
    low, high = np.percentile(array, 2), np.percentile(array, 98)
    return np.clip((array - low) / max(high - low, 1e-6), 0, 1).transpose(1, 2, 0)


def leaderboard_chart(rows: list[dict], metric_name: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [r for r in rows if r.get("metric") is not None]
    figure, axis = plt.subplots(figsize=(7, 0.35 * max(len(scored), 3) + 1))
    labels = [f"{r['network']} ({r['backbone']})" + (f" #{r['trial']}" if r.get("trial") else "") for r in scored]
    axis.barh(labels[::-1], [r["metric"] for r in scored][::-1], color="#2b6f8f")
    axis.set_xlabel(metric_name)
    axis.set_xlim(0, 1)
    return _png(figure)


def curves_chart(history: list[dict], metric_name: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3))
    epochs = [h["epoch"] for h in history]
    axis.plot(epochs, [h["train_loss"] for h in history], label="training loss", color="#d55e00")
    axis.set_xlabel("epoch")
    axis.set_ylabel("training loss")
    other = axis.twinx()
    other.plot(epochs, [h[metric_name] for h in history], label=f"validation {metric_name}", color="#0072b2")
    other.set_ylabel(metric_name)
    other.set_ylim(0, 1)
    figure.legend(loc="upper center", ncol=2)
    return _png(figure)


def predictions_chart(model, dataset, classes, task: str, device, count: int = 4) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    count = min(count, len(dataset))
    figure, axes = plt.subplots(2, count, figsize=(3 * count, 6), squeeze=False)
    colors = [(0, 0, 0, 0)] + [tuple(c / 255 for c in cls.color) + (0.55,) for cls in classes]
    model.eval()
    for column in range(count):
        image, target = dataset[column]
        with torch.no_grad():
            prediction = model.predict(image.unsqueeze(0).to(device))
        for row, (title, what) in enumerate((("truth", target), ("prediction", prediction))):
            axis = axes[row][column]
            axis.imshow(_display_rgb(image))
            axis.set_title(title, fontsize=9)
            axis.axis("off")
            if task == "object_detection":
                found = what if row == 0 else what[0]
                keep = slice(None) if row == 0 else found["scores"] >= 0.5
                for box, label in zip(found["boxes"][keep].cpu().tolist(), found["labels"][keep].cpu().tolist()):
                    color = colors[label][:3] if 0 < label < len(colors) else (1, 1, 0)
                    axis.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1], fill=False,
                                             edgecolor=color, linewidth=1.5))
            else:
                labels = what if row == 0 else what[0].argmax(0)
                axis.imshow(labels.cpu().numpy(), cmap=ListedColormap(colors), vmin=0, vmax=len(colors) - 1,
                            interpolation="nearest")
    return _png(figure)


def render_report(*, title: str, summary: dict, rows: list[dict], metric_name: str, history: list[dict],
                  predictions_png: str | None) -> str:
    columns = ["rank", "network", "backbone", "status", "metric", "epochs", "batch_size", "learning_rate",
               "augment_strength", "train_seconds", "phase", "reason"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)

    def cell(value):
        if isinstance(value, float):
            value = f"{value:.4g}"
        return f"<td>{html.escape('' if value is None else str(value))}</td>"

    body = "".join("<tr>" + "".join(cell(r.get(c)) for c in columns) + "</tr>" for r in rows)
    facts = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items())
    images = [f'<h2>Leaderboard</h2><img src="data:image/png;base64,{leaderboard_chart(rows, metric_name)}">']
    if history:
        images.append(f'<h2>Training of the chosen model</h2>'
                      f'<img src="data:image/png;base64,{curves_chart(history, metric_name)}">')
    if predictions_png:
        images.append(f'<h2>Validation chips: truth and prediction</h2>'
                      f'<img src="data:image/png;base64,{predictions_png}">')
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}img{{max-width:100%}}</style>
</head><body><h1>{html.escape(title)}</h1><table>{facts}</table>
{''.join(images)}
<h2>All candidates</h2><table><tr>{head}</tr>{body}</table></body></html>
"""
