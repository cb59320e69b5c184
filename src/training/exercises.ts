/**
 * The exercises of `molt train`, in the order `molt train list` gives them.
 *
 * @module
 */
import { emergency } from "./emergency.ts";
import type { Exercise } from "./exercise.ts";
import { failover } from "./failover.ts";
import { leak } from "./leak.ts";
import { pauseResume } from "./pause-resume.ts";
import { restore } from "./restore.ts";
import { shadow } from "./shadow.ts";

/** Every exercise. */
export const EXERCISES: readonly Exercise[] = [pauseResume, shadow, leak, emergency, restore, failover];

/** The exercise named `name`, or undefined. */
export const exerciseNamed = (name: string): Exercise | undefined => EXERCISES.find((e) => e.name === name);
