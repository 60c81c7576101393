"""The circuit stage's measurements on models whose circuit is known by construction (tests/circuit_models.py):
which blocks and head groups the model needs, where the answer forms and becomes readable, where the products
form, the neurons' frequencies, and read-out contributions that sum to the logits."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from reporter.interpret.circuit import harmonics, head_groups, internal_frequencies, together_kind, writers
from reporter.interpret.thresholds import Thresholds
from reporter.measure.attribution import BIAS, cosine_coefficient, direct_logits, frozen_scale, logit_attribution
from reporter.measure.capture import capture, hooked_pass
from reporter.measure.causal import Interventions, block_mean_ablation, mean_ablation
from reporter.measure.channels import channels, frequency_component, write_spectra
from reporter.measure.components import components
from reporter.measure.fourier import preference_rule
from reporter.measure.head_groups import agreement
from reporter.measure.neurons import embedding_sparsity, neurons
from reporter.measure.products import products
from reporter.measure.stages import stages, stream
from reporter.model import keys
from reporter.model.build import build_model, model_config
from reporter.model.edits import ResidualEdit
from reporter.model.engine import Forward
from reporter.model.task import EQUALS_POS, Task, all_inputs
from tests.circuit_models import frequency_model, lookup_model
from tests.handmade import COS, SIN, handmade_model

P = 7


@pytest.fixture(scope="module")
def lookup():
    """The lookup model, its capture and its float64 forward."""
    model, task = lookup_model(P)
    return model, task, capture(model, task), Forward(model, torch.float64)


def random_model(modulus: int = 7, normalization: str = "LN"):
    """An untrained model with a final norm whose scale and shift, and an unembedding bias, are not trivial."""
    model = build_model(
        model_config(Task(modulus), n_layers=2, n_heads=2, d_model=16, d_mlp=32, normalization_type=normalization)
    )
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        state = model.state_dict()
        for name in ("ln_final.weight", "ln_final.bias", "unembed.bias"):
            if name in state:
                state[name].copy_(torch.randn(state[name].shape, generator=generator))
    model.eval()
    model.to(torch.float64, print_details=False)
    return model, Task(modulus)


def test_two_heads_that_each_carry_half_of_b_are_minor_alone_and_redundant_together(lookup):
    model, _, clean, _ = lookup
    found = components(Interventions(model, clean))
    assert found.single_heads["L0H1"] < 0.01 and found.single_heads["L0H2"] < 0.01
    pairs = {pair.heads: pair for pair in found.head_pairs}
    b_pair = pairs[("L0H1", "L0H2")]
    kind = {heads: together_kind(p.delta_loss, p.sum_of_singles, Thresholds()) for heads, p in pairs.items()}
    assert b_pair.delta_loss > 1.0 and kind[("L0H1", "L0H2")] == "redundant"
    assert kind[("L0H0", "L0H1")] == "additive"  # the a-head alone already breaks it: nothing hidden
    by_name = {c.name: c for c in found.components}
    assert [c.name for c in found.components] == ["attn0", "mlp0", "attn1", "mlp1"]
    assert by_name["attn0"].ablation.equals.delta_loss == pytest.approx(math.log(P))  # no neuron fires
    assert by_name["mlp1"].ablation.equals.delta_loss == pytest.approx(math.log(P))
    assert abs(by_name["mlp0"].ablation.all_positions.delta_loss) < 1e-12  # zero MLP, zero attention: unused
    assert abs(by_name["attn1"].ablation.equals.delta_loss) < 1e-12
    attn1 = by_name["attn1"].heads_together
    assert by_name["mlp0"].heads_together is None
    assert together_kind(attn1.delta_loss, attn1.sum_of_singles, Thresholds()) == "additive"
    given = {(int(name[1]), int(name[3])): value for name, value in found.single_heads.items()}
    assert components(Interventions(model, clean), singles=given) == found  # causal's singles, reused


def test_a_layers_heads_ablated_together_are_its_attention_block_ablated_at_equals():
    """components() reads the heads-together effect off the block's ablation at `=`: the two edits must agree."""
    model, task = random_model()
    clean = capture(model, task)
    interventions = Interventions(model, clean)
    for layer in range(model.cfg.n_layers):
        heads = [mean_ablation(clean, layer, head) for head in range(model.cfg.n_heads)]
        block = interventions.effect(block_mean_ablation(clean, layer, "attn"))
        assert abs(block.delta_loss) > 1e-6  # the check is not between two no-ops
        assert interventions.effect(*heads).delta_loss == pytest.approx(block.delta_loss, abs=1e-12)


def test_together_is_judged_against_the_sum_of_the_singles_by_the_cutoffs():
    cutoffs = Thresholds(together_redundant=1.5, together_overlapping=0.5, importance_minor=0.01)
    assert together_kind(1.0, 0.1, cutoffs) == "redundant"
    assert together_kind(1.0, 0.9, cutoffs) == "additive"
    assert together_kind(1.0, 2.5, cutoffs) == "overlapping"
    assert together_kind(0.005, 0.0, cutoffs) == "additive"  # below the floor: no claim
    assert together_kind(1.0, 0.9, Thresholds(together_redundant=1.2)) == "additive"
    assert together_kind(1.0, 0.9, Thresholds(together_redundant=1.1, together_overlapping=0.5)) == "redundant"


def test_the_stage_table_of_a_lookup_model_reads_the_answer_only_after_its_last_mlp(lookup):
    _, _, clean, forward = lookup
    table = stages(forward, clean, split=(0.6, 0))
    assert [s.after for s in table] == ["embed", "attn0", "mlp0", "attn1", "mlp1"]
    *before, last = table
    for stage in before:
        assert stage.readout_accuracy <= 1 / P + 1e-9  # all-zero logits: right only where the answer is 0
        assert stage.decodable < 0.5  # one-hot a + one-hot b: no linear map reads their sum mod p
        assert stage.shares.answer < 1e-12 and max(stage.answer_frequencies.values()) < 1e-12
    assert before[1].shares.a == pytest.approx(0.5) and before[1].shares.b == pytest.approx(0.5)
    assert last.readout_accuracy == 1.0 and last.decodable == 1.0
    assert last.shares.answer > 0.99 and last.other < 0.01
    assert stages(forward, clean)[0].decodable is None  # no split known: no held-out score


def test_the_stream_at_equals_is_what_the_hooks_see():
    model, task = random_model()
    clean = capture(model, task)
    forward = Forward(model, torch.float64)
    found = stream(forward, clean)
    names = [keys.hook(layer, site) for layer in range(2) for site in (keys.ATTN_OUT, keys.RESID_POST)]
    names += [f"blocks.{layer}.mlp.in.hook_out" for layer in range(2)]
    with torch.inference_mode():
        seen, _ = hooked_pass(model, all_inputs(task), names)
    for layer in range(2):
        attn = seen[keys.hook(layer, keys.ATTN_OUT)][:, EQUALS_POS]
        assert (found.outputs[f"attn{layer}"] - attn).abs().max() < 1e-10
        after = seen[keys.hook(layer, keys.RESID_POST)][:, EQUALS_POS]
        assert (found.residuals[f"mlp{layer}"] - after).abs().max() < 1e-10
        pre = forward.pre_activation(found.residuals[f"attn{layer}"], layer)
        assert (pre - seen[f"blocks.{layer}.mlp.in.hook_out"][:, EQUALS_POS]).abs().max() < 1e-10


def test_a_model_whose_mlp_input_is_additive_makes_its_product_in_the_mlp_alone(lookup):
    _, _, clean, forward = lookup
    found = {p.component: p for p in products(forward, clean, stream(forward, clean))}
    for name in ("attn0", "attn1"):
        assert found[name].answer_share < 1e-12 and found[name].answer_share_mean_patterns < 1e-12
    assert found["mlp1"].answer_share > 0.99
    assert found["mlp1"].answer_share_additive_input == pytest.approx(found["mlp1"].answer_share)


def test_a_head_that_switches_on_the_other_operand_makes_a_product_in_attention():
    model, task = frequency_model(13, 4, switch=True)
    clean = capture(model, task)
    forward = Forward(model, torch.float64)
    found = {p.component: p for p in products(forward, clean, stream(forward, clean))}
    assert found["attn0"].answer_share > 1e-4  # the switch multiplies a and b
    assert found["attn0"].answer_share_mean_patterns < 1e-12  # without it the output is additive
    assert abs(found["mlp0"].answer_share - found["mlp0"].answer_share_additive_input) > 1e-3
    plain = frequency_model(13, 4)
    clean = capture(*plain)
    forward = Forward(plain[0], torch.float64)
    assert products(forward, clean, stream(forward, clean))[0].answer_share < 1e-12


@pytest.mark.parametrize("frequency", [2, 5])
def test_an_embedding_built_from_one_frequency_gives_it_back_as_the_neurons_frequency(frequency):
    model, task = frequency_model(13, frequency)
    clean = capture(model, task)
    forward = Forward(model, torch.float64)
    (layer,) = neurons(forward, stream(forward, clean).residuals, 13)
    assert layer.by_frequency == {frequency: 8}
    assert layer.share.min() > 0.999
    assert layer.terms["a"] == pytest.approx(0.5) and layer.terms["b"] == pytest.approx(0.5)
    sparsity = embedding_sparsity(forward, 13)
    assert {k for k, _ in sparsity.top[:2]} == {frequency, 3} and sparsity.frequencies_for_half == 2


def test_a_switching_heads_write_gives_its_neurons_sum_and_difference_terms():
    model, task = frequency_model(13, 4, switch=True)
    clean = capture(model, task)
    forward = Forward(model, torch.float64)
    (layer,) = neurons(forward, stream(forward, clean).residuals, 13)
    assert layer.terms["sum"] + layer.terms["difference"] + layer.terms["other"] > 1e-3
    assert sum(layer.terms.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("normalization", ["LN", "RMS", None])
def test_read_out_contributions_sum_to_the_logits(normalization):
    model, task = random_model(normalization=normalization)
    clean = capture(model, task)
    forward = Forward(model, torch.float64)
    found = stream(forward, clean)
    final = found.residuals["mlp1"]
    scale = frozen_scale(forward, final)
    whole = sum(direct_logits(forward, part, scale) for part in [found.embedding, *found.outputs.values()])
    biased = logit_attribution(forward, clean, found, [1, 2, 3])
    assert [a.component for a in biased] == ["embed", "attn0", "mlp0", "attn1", "mlp1", BIAS]
    bias = biased[-1]
    logits = forward.linear(forward.norm(final, keys.LN_FINAL), keys.UNEMBED)  # [input, vocab] the read-out
    assert (logits - clean.logits).abs().max() < 1e-6  # the bridge's own logits (its RMS norm rounds apart)
    correct = logits.gather(1, clean.targets[:, None]).mean()
    assert sum(a.correct_logit for a in biased) == pytest.approx(float(correct), abs=1e-9)
    assert (whole + (logits - whole).mean(0) - logits).abs().max() < 1e-9  # the rest is a constant
    for k in (1, 2, 3):
        total = sum(a.frequencies[k] for a in biased)
        assert total == pytest.approx(cosine_coefficient(logits, task.modulus, k), abs=1e-9)
    assert abs(bias.frequencies[1]) < 1e-9  # a constant over inputs has no cos(2πk(a + b - c)/p) part


def test_the_cosine_coefficient_reads_back_a_known_amplitude():
    p, k = 7, 2
    a, b = torch.arange(p).repeat_interleave(p), torch.arange(p).repeat(p)
    c = torch.arange(p)[None, :]
    logits = 3.0 * torch.cos(2 * math.pi * k * ((a + b)[:, None] - c).double() / p) + 1.5
    assert cosine_coefficient(logits, p, k) == pytest.approx(3.0)
    assert abs(cosine_coefficient(logits, p, 1)) < 1e-12


def test_removing_the_frequency_the_model_uses_breaks_it_and_removing_another_changes_nothing():
    model, task = lookup_model(P, answer_frequency=2)
    clean = capture(model, task)
    forward, interventions = Forward(model, torch.float64), Interventions(model, clean)
    found = stream(forward, clean)
    table = {(ch.frequency, ch.removed_at): ch for ch in channels(forward, interventions, found, [1, 2, 3])}
    assert table[(2, "final")].delta_loss == pytest.approx(math.log(P), abs=1e-6)  # the logits go flat
    spectra = write_spectra(forward, interventions, found)
    assert writers(spectra, 2, Thresholds()) == ["mlp1"]
    for k in (1, 3):
        assert abs(table[(k, "final")].delta_loss) < 1e-9 and writers(spectra, k, Thresholds()) == []
    for k in (1, 2, 3):  # MLP1 reads one-hot a and b: no answer part to remove yet
        assert abs(table[(k, "mlp1")].delta_loss) < 1e-9 and abs(table[(k, "mlp0")].delta_loss) < 1e-9
    part = frequency_component(found.residuals["mlp1"], P, 2)  # [answer, d_model]
    edit = ResidualEdit("mlp1", lambda rows, x: x - part[clean.targets[rows]])
    hooked = interventions.hooked.logits(slice(0, task.n_inputs), (edit,))
    assert torch.nn.functional.cross_entropy(hooked, clean.targets) == pytest.approx(math.log(P), abs=1e-6)
    table = stages(forward, clean)
    assert internal_frequencies(table, neurons(forward, found.residuals, P), Thresholds())[0] == 2


def test_harmonics_are_small_multiples_of_a_base_folded():
    cutoffs = Thresholds(harmonic_multiple=6)
    assert harmonics([42, 20, 25, 15, 10, 5], [5], 113, cutoffs) == {20: 5, 25: 5, 15: 5, 10: 5}  # 42 = 31·5
    assert harmonics([3, 1], [2], 7, cutoffs) == {3: 2, 1: 2}  # 2·2 = 4 ≡ -3, 3·2 = 6 ≡ -1
    assert harmonics([20], [5], 113, Thresholds(harmonic_multiple=3)) == {}


def test_switching_heads_in_opposite_phase_form_two_opposite_groups():
    model, _, task = handmade_model(11, [["frequency:copy", "frequency:copy", "frequency:copy", "b:copy"]])
    with torch.no_grad():  # L0H2 prefers the operand with the larger -cos(2π·3·x/p + 0.7): the opposite phase
        k = model.state_dict()["blocks.0.attn.k.weight"]
        k[2 * 8, COS], k[2 * 8, SIN] = -k[2 * 8, COS], -k[2 * 8, SIN]
    clean = capture(model, task)
    measured = agreement(clean)

    def switching(*heads):  # what head_groups reads of a role: its name, layer and preference rule
        rows = []
        for head in heads:
            w = clean.pattern[:, 0, head].double().numpy()
            rule = preference_rule(w[:, 0] + w[:, 1], w[:, 2], task.modulus)
            rows.append(SimpleNamespace(name=f"L0H{head}", layer=0, preference=rule))
        return rows

    assert measured.heads == ["L0H0", "L0H1", "L0H2", "L0H3"]
    assert measured.matrix[0, 1] == 1.0 and measured.matrix[0, 2] < 0.2
    same, other = head_groups(measured, switching(0, 1, 2), Thresholds())
    assert same.heads == ("L0H0", "L0H1") and other.heads == ("L0H2",)
    assert same.opposite == ("L0H2",) and other.opposite == ("L0H0", "L0H1")
    assert same.frequency == other.frequency == 3
    assert abs(abs(same.phase - other.phase) - math.pi) < 0.3  # half a turn apart
    alone = head_groups(measured, switching(0, 3), Thresholds())  # a b-head picks b always: no group with L0H0
    assert [g.heads for g in alone] == [("L0H0",), ("L0H3",)] and alone[0].opposite == ()


def test_a_one_layer_attention_only_model_has_one_block_and_no_later_stages():
    config = model_config(Task(P), n_layers=1, n_heads=2, d_model=16, d_mlp=32)
    config["attn_only"] = True
    model = build_model(config)
    model.eval()
    model.to(torch.float64, print_details=False)
    clean = capture(model, Task(P))
    forward, interventions = Forward(model, torch.float64), Interventions(model, clean)
    found = stream(forward, clean)
    assert [c.name for c in components(interventions).components] == ["attn0"]
    assert agreement(clean).heads == ["L0H0", "L0H1"]
    assert [s.after for s in stages(forward, clean, (0.5, 0))] == ["embed", "attn0"]
    assert [p.component for p in products(forward, clean, found)] == ["attn0"]
    assert neurons(forward, found.residuals, P) == []
    assert [ch.removed_at for ch in channels(forward, interventions, found, [1])] == ["final"]
    assert [a.component for a in logit_attribution(forward, clean, found, [1])] == ["embed", "attn0", BIAS]
