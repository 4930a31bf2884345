"""The classic PyTorch tutorial loop (pytorch-tutorial's feedforward net): an MLP on synthetic
classification data, printing `Epoch [e/E], Step [s/S], Loss: x.xxxx` every `--every` steps, as
the tutorial does; or, with `--style kv`, `step=N epoch=E loss=x lr=y` through the standard `logging`
module, as many hand-written loops log; or, with `--style tqdm`, no print at all but two nested tqdm bars, one over
the epochs and one over each epoch's batches with the loss as its postfix (`leave=False`), as hand-written
loops draw them; or, with `--style epochbars`, a new bare bar over the loader each epoch (`for batch in
tqdm(loader)`, left on screen) and a `Validating` bar after it, nothing printed; `--style epochbars-loss` names
the training bar `Training` and shows the loss as its postfix; or, with `--style cifar`, what PyTorch's CIFAR-10
tutorial ("Training a Classifier") prints: the running loss over the last `--every` mini-batches as `[epoch,
i] loss: x.xxx` (1-based, `i` padded to 5), then `Finished Training`; or, with `--style phases`, what the `train_model`
of PyTorch's transfer-learning tutorial prints: `Epoch e/E` (from 0, E the last), a rule of ten dashes, then each
phase's mean loss and accuracy over the epoch (`train Loss: x.xxxx Acc: x.xxxx`, `val …`) and a blank line; at the end
`Training complete in Xm Ys` and `Best val Acc: x.xxxxxx`; or, with `--style quickstart`, what PyTorch's quickstart
tutorial prints: `Epoch e` (from 1) over a rule of dashes, the loss and the samples seen so far of the dataset every
`--every` batches (`loss: x.xxxxxx  [ seen/ size]`), the test set's `Test Error:` with its accuracy and mean loss after
each epoch, and `Done!` (`--style quickstart-old`: as the tutorial's earlier versions, the count from 0, `[    0/12000]`).
The planted fault comes from the environment
(lab.faults)."""

from __future__ import annotations

import argparse
import logging
import time

import torch
from torch import nn
from tqdm import tqdm

from lab.data import classification
from lab.faults import Faults


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--samples", type=int, default=12000)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--dim", type=int, default=784)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--style", choices=("tutorial", "kv", "tqdm", "epochbars", "epochbars-loss", "cifar", "phases",
                                               "quickstart", "quickstart-old"), default="tutorial")
    args = ap.parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    log = logging.getLogger("train")
    torch.manual_seed(0)
    x, y = classification(args.samples, dim=args.dim)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    model = nn.Sequential(nn.Linear(args.dim, 500), nn.ReLU(), nn.Linear(500, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    faults = Faults()
    total_step = len(loader)
    step = 0
    running = 0.0  # the CIFAR-10 tutorial's running loss (`--style cifar`)
    bars = args.style == "tqdm"
    val_x, val_y = classification(args.samples // 10, dim=args.dim, split=1)
    val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(val_x, val_y), batch_size=args.batch_size)
    since, best_acc = time.time(), 0.0  # the transfer-learning tutorial's (`--style phases`)
    for epoch in tqdm(range(args.epochs)) if bars else range(args.epochs):
        phase_loss, phase_right, seen = 0.0, 0, 0
        if args.style == "phases":
            print(f"Epoch {epoch}/{args.epochs - 1}")
            print("-" * 10)
        elif args.style.startswith("quickstart"):
            print(f"Epoch {epoch + 1}\n-------------------------------")
        if args.style == "epochbars":
            batches = tqdm(loader)
        elif args.style == "epochbars-loss":
            batches = tqdm(loader, desc="Training")
        else:
            batches = tqdm(loader, leave=False) if bars else loader
        for i, (images, labels) in enumerate(batches):
            step += 1  # the global step: (epoch * total_step) + i + 1
            faults.fetch(step)
            faults.step_begin(step)
            for g in optimizer.param_groups:
                g["lr"] = args.lr * faults.lr_factor(step)
            outputs = model(images)
            loss = criterion(outputs, labels) * faults.loss_factor(step)
            optimizer.zero_grad()
            loss.backward()
            faults.after_backward(step, model.parameters())
            optimizer.step()
            running += loss.item()
            shown = {"shown_loss": running / args.every} if args.style == "cifar" and (i + 1) % args.every == 0 else {}
            faults.truth.step(step, loss=loss.item(), epoch=epoch + 1, **shown)
            faults.step_end(step)
            if args.style == "phases":
                phase_loss += loss.item() * images.size(0)
                phase_right += int((outputs.argmax(1) == labels).sum())
                seen += images.size(0)
                continue
            if args.style.startswith("quickstart"):
                if i % args.every == 0:  # the tutorial's earlier versions counted `batch * len(X)`, from 0
                    seen = (i + (args.style == "quickstart")) * len(images)
                    print(f"loss: {loss.item():>7f}  [{seen:>5d}/{len(loader.dataset):>5d}]")
                continue
            if isinstance(batches, tqdm):
                if args.style != "epochbars":
                    batches.set_postfix(loss=loss.item())
                continue
            if (i + 1) % args.every != 0:
                continue
            running, report = 0.0, running
            if args.style == "cifar":
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {report / args.every:.3f}")
            elif args.style == "kv":
                log.info("step=%d epoch=%d loss=%.4f lr=%g", step, epoch + 1, loss.item(), optimizer.param_groups[0]["lr"])
            else:
                print(f"Epoch [{epoch + 1}/{args.epochs}], Step [{i + 1}/{total_step}], Loss: {loss.item():.4f}")
        if args.style == "phases":
            print(f"train Loss: {phase_loss / seen:.4f} Acc: {phase_right / seen:.4f}")
            val_loss, val_right = 0.0, 0
            with torch.no_grad():
                for images, labels in val_loader:
                    outputs = model(images)
                    val_loss += criterion(outputs, labels).item() * images.size(0)
                    val_right += int((outputs.argmax(1) == labels).sum())
            val_acc = val_right / len(val_loader.dataset)
            print(f"val Loss: {val_loss / len(val_loader.dataset):.4f} Acc: {val_acc:.4f}")
            print()
            best_acc = max(best_acc, val_acc)
        if args.style.startswith("quickstart"):
            test_loss, correct = 0.0, 0
            with torch.no_grad():
                for images, labels in val_loader:
                    outputs = model(images)
                    test_loss += criterion(outputs, labels).item()
                    correct += int((outputs.argmax(1) == labels).sum())
            test_loss /= len(val_loader)
            print(f"Test Error: \n Accuracy: {(100 * correct / len(val_loader.dataset)):>0.1f}%, Avg loss: {test_loss:>8f} \n")
        if args.style.startswith("epochbars"):
            with torch.no_grad():
                for images, _ in tqdm(val_loader, desc="Validating"):
                    model(images)
    if args.style == "cifar":
        print("Finished Training")
    elif args.style.startswith("quickstart"):
        print("Done!")
    elif args.style == "phases":
        elapsed = time.time() - since
        print(f"Training complete in {elapsed // 60:.0f}m {elapsed % 60:.0f}s")
        print(f"Best val Acc: {best_acc:4f}")


if __name__ == "__main__":
    main()
